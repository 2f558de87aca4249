"""Soft word matching: each content word of a question against its closest word of a passage.

The model's own word-piece embedding table (the input layer of all-MiniLM-L6-v2) places words used
alike near each other ("lawyer" near "solicitor", "reply" near "response"). For a question and a
passage, the score is the mean over the question's content word pieces of the best cosine to any
of the passage's pieces ("MaxSim", as in late-interaction retrieval, here with static embeddings).
It helps most where BM25 can't: a paraphrase that shares few words with the article.

The table is memory-mapped from the model's safetensors file: nothing is loaded until a row is used.
"""

from __future__ import annotations

import json
import logging
import struct
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.lexical import STOPWORDS

log = logging.getLogger(__name__)

_TABLE_SUFFIX = "word_embeddings.weight"
_DTYPES = {"F32": np.float32, "F16": np.float16}


def _embedding_table(weights: Path) -> np.ndarray | None:
    """The word-piece embedding table in a safetensors file, memory-mapped (None if absent)."""
    with weights.open("rb") as handle:
        (header_size,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(header_size))
    name = next((key for key in header if key.endswith(_TABLE_SUFFIX)), None)
    if name is None or header[name]["dtype"] not in _DTYPES:
        return None
    entry = header[name]
    start, _ = entry["data_offsets"]
    return np.memmap(
        weights,
        dtype=_DTYPES[entry["dtype"]],
        mode="r",
        offset=8 + header_size + start,
        shape=tuple(entry["shape"]),
    )


class TokenMatcher:
    """Scores passages against a question by MaxSim over static word-piece embeddings."""

    def __init__(self, tokenizer, table: np.ndarray) -> None:
        self._tokenizer = tokenizer
        self._table = table
        # The unit-length rows of the pieces used so far, each normalised at its first use: piece id →
        # row of `_units` through `_slots` (-1: not yet). Grown as needed, so the memory is that of
        # the pieces the articles and questions use, not of the whole table.
        self._slots = np.full(len(table), -1, dtype=np.int64)
        self._units = np.zeros((1024, table.shape[1]), dtype=np.float32)
        self._used = 0
        self._units_lock = threading.Lock()

    @classmethod
    def from_model(cls, path: Path) -> TokenMatcher | None:
        """A matcher for the sentence-transformers folder at `path`, or None when it has no fast
        tokenizer or safetensors weights with a word-piece table (then ranking does without)."""
        tokenizer_file, weights = path / "tokenizer.json", path / "model.safetensors"
        if not tokenizer_file.is_file() or not weights.is_file():
            return None
        from tokenizers import Tokenizer

        try:
            table = _embedding_table(weights)
            tokenizer = Tokenizer.from_file(str(tokenizer_file))
        except (OSError, ValueError, KeyError, struct.error) as error:
            log.warning("soft word matching is off: %s", error)
            return None
        if table is None:
            return None
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return cls(tokenizer, table)

    def content_ids(self, text: str) -> np.ndarray:
        """Word-piece ids of the text's content words: special tokens, stopwords and punctuation out."""
        encoding = self._tokenizer.encode(text, add_special_tokens=False)
        ids = [
            token_id
            for token_id, token, word in zip(encoding.ids, encoding.tokens, encoding.word_ids, strict=True)
            if word is not None and token.lstrip("#").isalnum() and token.lower() not in STOPWORDS
        ]
        return np.array(ids, dtype=np.int64)

    def _rows(self, ids: np.ndarray) -> np.ndarray:
        """Unit-length table rows of the piece `ids`."""
        with self._units_lock:
            new = np.unique(ids[self._slots[ids] < 0])
            if new.size:
                end = self._used + new.size
                if end > len(self._units):
                    grown = np.zeros((max(end, 2 * len(self._units)), self._units.shape[1]), np.float32)
                    grown[: self._used] = self._units[: self._used]
                    self._units = grown
                rows = np.asarray(self._table[new], dtype=np.float32)
                norms = np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-9)
                self._units[self._used : end] = rows / norms
                self._slots[new] = np.arange(self._used, end)
                self._used = end
            return self._units[self._slots[ids]]

    def scores(self, question: str, passages: Sequence[str]) -> np.ndarray:
        """MaxSim of `question` against each passage (0 where either has no content word)."""
        return self.score_table([question], passages)[0]

    def score_table(self, questions: Sequence[str], passages: Sequence[str]) -> np.ndarray:
        """MaxSim of every question (rows) against every passage (columns), 0 where either has no
        content word: one matrix product for all of them."""
        return self.score_ids(questions, [self.content_ids(text) for text in passages])

    def score_ids(self, questions: Sequence[str], per_passage: Sequence[np.ndarray]) -> np.ndarray:
        """`score_table` for passages given as their `content_ids`."""
        out = np.zeros((len(questions), len(per_passage)), dtype=np.float32)
        asked = [self.content_ids(question) for question in questions]
        rows = [number for number, ids in enumerate(asked) if ids.size]
        columns = [number for number, ids in enumerate(per_passage) if ids.size]
        if not rows or not columns:
            return out
        # Each distinct question piece against each distinct passage piece, once.
        query, query_at = np.unique(np.concatenate([asked[n] for n in rows]), return_inverse=True)
        pieces, pieces_at = np.unique(np.concatenate([per_passage[n] for n in columns]), return_inverse=True)
        similarity = self._rows(query) @ self._rows(pieces).T
        passage_starts = np.cumsum([0, *(per_passage[n].size for n in columns[:-1])])
        # distinct question pieces × passages: the best match of each piece in each passage
        best = np.maximum.reduceat(similarity[:, pieces_at], passage_starts, axis=1)
        sizes = np.array([asked[n].size for n in rows])
        means = np.add.reduceat(best[query_at], np.cumsum([0, *sizes[:-1]]), axis=0) / sizes[:, None]
        out[np.ix_(rows, columns)] = means
        return out
