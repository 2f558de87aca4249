"""BM25 over stemmed words: the lexical half of hybrid search, strong where a question shares the
article's rare words (names, numbers) and the dense model is vague.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import NamedTuple

import numpy as np

_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has
    have having he her here hers herself him himself his how i if in into is it its itself just me
    more most my myself no nor not now of off on once only or other our ours ourselves out over own
    same she should so some such than that the their theirs them themselves then there these they
    this those through to too under until up very was we were what when where which while who whom
    why will with would you your yours yourself yourselves s t don""".split()
)


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(text: str) -> list[str]:
    """Lower-cased, stemmed content words ("arrests" → "arrest"), stopwords dropped."""
    words = [word for word in _TOKEN.findall(text.lower().replace("’", "'")) if word not in STOPWORDS]
    return [stem[:6] for stem in _stemmer().stemWords(words)]


class QueryScores(NamedTuple):
    """BM25 of several queries: `scores` has a row per query, a column per document; `coverage` is the
    share of each query's distinct terms that occur in some document."""

    scores: np.ndarray
    coverage: np.ndarray


class Bm25:
    """Okapi BM25 over a fixed list of documents; scores every document for a query."""

    def __init__(self, documents: Sequence[str], *, k1: float = 1.2, b: float = 0.75) -> None:
        tokenized = [Counter(tokenize(document)) for document in documents]
        lengths = np.array([sum(counts.values()) for counts in tokenized], dtype=np.float32)
        average = float(lengths.mean()) if len(lengths) and lengths.mean() > 0 else 1.0
        self._size = len(documents)
        # term -> (document ids, BM25 weight of the term in each), precomputed once
        postings: dict[str, tuple[list[int], list[float]]] = {}
        for doc_id, counts in enumerate(tokenized):
            norm = k1 * (1 - b + b * lengths[doc_id] / average)
            for term, tf in counts.items():
                ids, weights = postings.setdefault(term, ([], []))
                ids.append(doc_id)
                weights.append(tf * (k1 + 1) / (tf + norm))
        self._postings = {
            term: (
                np.array(ids, dtype=np.int64),
                np.array(weights, dtype=np.float32)
                * math.log(1 + (self._size - len(ids) + 0.5) / (len(ids) + 0.5)),
            )
            for term, (ids, weights) in postings.items()
        }

    def __len__(self) -> int:
        return self._size

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The postings as flat arrays (terms, offsets into ids and weights), to save without pickle."""
        terms = list(self._postings)
        offsets = np.zeros(len(terms) + 1, dtype=np.int64)
        np.cumsum([len(self._postings[term][0]) for term in terms], out=offsets[1:])
        empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
        postings = [self._postings[term] for term in terms] or [empty]
        return {
            "terms": np.array(terms, dtype=np.str_),
            "offsets": offsets,
            "ids": np.concatenate([ids for ids, _ in postings]),
            "weights": np.concatenate([weights for _, weights in postings]),
            "size": np.array([self._size], dtype=np.int64),
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> Bm25:
        """The index `to_arrays` saved, with the same postings (so the same scores), without re-tokenizing."""
        bm25 = cls.__new__(cls)
        bm25._size = int(arrays["size"][0])
        ids, weights, offsets = arrays["ids"], arrays["weights"], arrays["offsets"].tolist()
        bm25._postings = {
            term: (ids[start:end], weights[start:end])
            for term, start, end in zip(arrays["terms"].tolist(), offsets[:-1], offsets[1:], strict=True)
        }
        return bm25

    def coverage(self, query: str) -> float:
        """The share of the query's distinct terms that occur in some document (0 when it has none)."""
        return float(self.score_queries([query]).coverage[0])

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document for `query` (zeros where no term matches)."""
        return self.score_queries([query]).scores[0]

    def score_queries(self, queries: Sequence[str]) -> QueryScores:
        """`scores` and `coverage` of several queries at once, a row of scores each."""
        coverage = np.zeros(len(queries))
        cells, weights = [], []  # (query, document) cells as query * size + document
        for number, query in enumerate(queries):
            terms = set(tokenize(query))
            postings = [self._postings[term] for term in terms if term in self._postings]
            coverage[number] = len(postings) / len(terms) if terms else 0.0
            for ids, term_weights in postings:
                cells.append(ids + number * self._size)
                weights.append(term_weights)
        scores = np.zeros(len(queries) * self._size, dtype=np.float32)
        if cells:
            scores[:] = np.bincount(np.concatenate(cells), np.concatenate(weights), minlength=scores.size)
        return QueryScores(scores.reshape(len(queries), self._size), coverage)
