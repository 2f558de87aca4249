"""BM25 over stemmed words: the lexical half of hybrid search, strong where a question shares the
article's rare words (names, numbers) and the dense model is vague.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

import numpy as np

WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")  # a word, with its apostrophe ("Kenney's")
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
    words = [word for word in WORD.findall(text.lower().replace("’", "'")) if word not in STOPWORDS]
    return [stem[:6] for stem in _stemmer().stemWords(words)]


class QueryScores(NamedTuple):
    """BM25 of several queries: `scores` has a row per query, a column per document; `coverage` is the
    share of each query's distinct terms that occur in some document; `terms`, how many it has."""

    scores: np.ndarray
    coverage: np.ndarray
    terms: np.ndarray


class Bm25:
    """Okapi BM25 over a fixed list of documents; scores every document for a query.

    Held as two record arrays, which is also how it is saved: `terms` in sorted order, each with where
    its postings start, and `postings` (document, BM25 weight of the term in it). A term is found by
    binary search, so loading a saved index builds no dictionary of its vocabulary.
    """

    def __init__(self, documents: Sequence[str], *, k1: float = 1.2, b: float = 0.75) -> None:
        tokenized = [Counter(tokenize(document)) for document in documents]
        lengths = np.array([sum(counts.values()) for counts in tokenized], dtype=np.float32)
        average = float(lengths.mean()) if len(lengths) and lengths.mean() > 0 else 1.0
        # term -> (document ids, BM25 weight of the term in each), precomputed once
        postings: dict[str, tuple[list[int], list[float]]] = {}
        for doc_id, counts in enumerate(tokenized):
            norm = k1 * (1 - b + b * lengths[doc_id] / average)
            for term, tf in counts.items():
                ids, weights = postings.setdefault(term, ([], []))
                ids.append(doc_id)
                weights.append(tf * (k1 + 1) / (tf + norm))
        terms = sorted(postings)
        ids = [np.array(postings[term][0], dtype=np.int32) for term in terms]
        weights = [
            np.array(postings[term][1], dtype=np.float32)
            * math.log(1 + (len(documents) - len(postings[term][0]) + 0.5) / (len(postings[term][0]) + 0.5))
            for term in terms
        ]
        starts = np.zeros(len(terms) + 1, dtype=np.int64)
        np.cumsum([len(term_ids) for term_ids in ids], out=starts[1:])
        self._use(
            terms=np.array(terms, dtype=np.str_),
            starts=starts,
            ids=np.concatenate(ids) if ids else np.zeros(0, dtype=np.int32),
            weights=np.concatenate(weights) if weights else np.zeros(0, dtype=np.float32),
            documents=len(documents),
        )

    def _use(
        self, *, terms: np.ndarray, starts: np.ndarray, ids: np.ndarray, weights: np.ndarray, documents: int
    ) -> None:
        # every term has a posting (else it would not be a term)
        if len(starts) != len(terms) + 1 or starts[-1] != len(ids) or np.any(np.diff(starts) <= 0):
            raise ValueError("BM25 term starts that do not match its postings")
        if len(ids) and not (ids.min() >= 0 and ids.max() < documents):
            raise ValueError(f"BM25 postings of documents outside the {documents} it indexes")
        if np.any(terms[1:] <= terms[:-1]):
            raise ValueError("BM25 terms out of order")
        self._terms = terms
        self._starts = starts
        self._ids = ids
        self._weights = weights
        self._size = documents

    def __len__(self) -> int:
        return self._size

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The index as record arrays, to save without pickle: `terms` (term, start of its postings)
        and `postings` (document, weight)."""
        terms = np.empty(len(self._terms), dtype=[("term", self._terms.dtype), ("start", "<i8")])
        terms["term"], terms["start"] = self._terms, self._starts[:-1]
        postings = np.empty(len(self._ids), dtype=[("document", "<i4"), ("weight", "<f4")])
        postings["document"], postings["weight"] = self._ids, self._weights
        return {"terms": terms, "postings": postings}

    @classmethod
    def from_arrays(cls, terms: np.ndarray, postings: np.ndarray, documents: int) -> Bm25:
        """The index `to_arrays` saved, over `documents` documents, with the same postings (so the
        same scores), without re-tokenizing; raises ValueError for arrays it could not have saved."""
        if terms.dtype.names != ("term", "start") or postings.dtype.names != ("document", "weight"):
            raise ValueError("BM25 arrays without the fields to_arrays saves")
        bm25 = cls.__new__(cls)
        bm25._use(
            terms=np.ascontiguousarray(terms["term"]),
            starts=np.append(terms["start"], len(postings)),
            ids=np.ascontiguousarray(postings["document"]),
            weights=np.ascontiguousarray(postings["weight"]),
            documents=documents,
        )
        return bm25

    def _postings(self, term: str) -> slice | None:
        """Where the postings of `term` are, or None when no document has it."""
        at = int(np.searchsorted(self._terms, term))
        if at < len(self._terms) and self._terms[at] == term:
            return slice(int(self._starts[at]), int(self._starts[at + 1]))
        return None

    def document_frequency(self, term: str) -> int:
        """How many documents contain `term` (a `tokenize`d term)."""
        where = self._postings(term)
        return 0 if where is None else where.stop - where.start

    def coverage(self, query: str) -> float:
        """The share of the query's distinct terms that occur in some document (0 when it has none)."""
        return float(self.score_queries([query]).coverage[0])

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document for `query` (zeros where no term matches)."""
        return self.score_queries([query]).scores[0]

    def score_queries(self, queries: Sequence[str], scope: np.ndarray | None = None) -> QueryScores:
        """`scores`, `coverage` and `terms` of several queries at once, a row of scores each. With
        `scope` (a bool per document), documents outside it score 0 and don't count for coverage."""
        coverage = np.zeros(len(queries))
        counts = np.zeros(len(queries))
        cells, weights = [], []  # (query, document) cells as query * size + document
        for number, query in enumerate(queries):
            terms = set(tokenize(query))
            counts[number] = len(terms)
            found = []
            for term in terms:
                if (where := self._postings(term)) is None:
                    continue
                ids, term_weights = self._ids[where], self._weights[where]
                if scope is not None:
                    inside = scope[ids]
                    if not inside.any():
                        continue
                    ids, term_weights = ids[inside], term_weights[inside]
                found.append((ids, term_weights))
            coverage[number] = len(found) / len(terms) if terms else 0.0
            for ids, term_weights in found:
                cells.append(ids.astype(np.int64) + number * self._size)
                weights.append(term_weights)
        scores = np.zeros(len(queries) * self._size, dtype=np.float32)
        if cells:
            scores[:] = np.bincount(np.concatenate(cells), np.concatenate(weights), minlength=scores.size)
        return QueryScores(scores.reshape(len(queries), self._size), coverage, counts)
