"""First stage of an answer: for each question, the passages worth scoring and their raw signals.

A question's candidates are the PER_SIGNAL passages nearest by their vectors (passage, sentence and
clause vectors, from one FAISS search) together with the PER_SIGNAL best by BM25. Every signal is
then computed exactly for every candidate, for a whole batch of questions at once: the questions ×
candidate-passages matrices of `Candidates`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from index.vector_index import nearest_rows

if TYPE_CHECKING:
    from index.retriever import SearchIndex

DENSE_UNITS = 256  # vectors fetched from FAISS per question
PER_SIGNAL = 16  # passages taken per question from the dense ranking and from BM25's


@dataclass(frozen=True)
class Candidates:
    """Questions (rows) × the candidate passages of the batch (columns). `mask` says which passage
    is a candidate of which question; the signal matrices are meaningful only where it is True."""

    passages: np.ndarray  # (P,) their numbers in the index
    mask: np.ndarray  # (Q, P) bool
    dense: np.ndarray  # best cosine of any of the passage's vectors (passage, sentence, clause)
    sentence: np.ndarray  # best cosine of the passage's own vector or one of its sentences'
    whole: np.ndarray  # cosine of the passage's own vector
    lexical: np.ndarray  # BM25
    coverage: np.ndarray  # (Q,) share of the question's terms that some passage uses
    terms: np.ndarray  # (Q,) how many distinct terms the question has
    key_rows: np.ndarray  # (Q, P) the unit row of the passage's key sentence for the question


def _nearest_in(index: SearchIndex, vectors: np.ndarray, scope: np.ndarray) -> np.ndarray:
    """The DENSE_UNITS nearest unit rows inside `scope`, best first, by exact search: one article's
    units are few (hundreds), fewer than FAISS would need to scan to find them among every article's."""
    rows = np.concatenate([index.unit_rows(p) for p in np.flatnonzero(scope)])
    cosines = vectors @ index.vectors[rows].T
    take = min(DENSE_UNITS, len(rows))
    best = np.argpartition(-cosines, take - 1, axis=1)[:, :take]
    order = np.argsort(-np.take_along_axis(cosines, best, axis=1), axis=1, kind="stable")
    return rows[np.take_along_axis(best, order, axis=1)]


def gather(
    index: SearchIndex,
    questions: Sequence[str],
    vectors: np.ndarray,
    scope: np.ndarray | None = None,
) -> Candidates:
    """The candidates of `questions` (row i of `vectors` embeds question i) and their signals; with
    `scope` (a bool per passage: one article's), only passages inside it."""
    count = len(questions)
    if scope is None:
        nearest = nearest_rows(index.faiss, vectors, min(DENSE_UNITS, index.faiss.ntotal))
    else:
        nearest = _nearest_in(index, vectors, scope)
    lexical, coverage, terms = index.lexical_scores(questions, scope)
    chosen = np.zeros(lexical.shape, dtype=bool)  # questions × every passage of the index
    for number in range(count):
        rows = nearest[number][nearest[number] >= 0]
        owners = index.owners[rows]
        _, first = np.unique(owners, return_index=True)  # FAISS ranks best first
        chosen[number, owners[np.sort(first)[:PER_SIGNAL]]] = True
    # the PER_SIGNAL best by BM25, unordered (a partition, not a sort of every passage)
    top_lexical = (
        np.argpartition(-lexical, PER_SIGNAL - 1, axis=1)[:, :PER_SIGNAL]
        if lexical.shape[1] > PER_SIGNAL
        else np.argsort(-lexical, axis=1)
    )
    shares_words = np.take_along_axis(lexical, top_lexical, axis=1) > 0
    chosen[np.nonzero(shares_words)[0], top_lexical[shares_words]] = True

    passages = np.flatnonzero(chosen.any(axis=0))
    mask = chosen[:, passages]
    shape = (count, len(passages))
    if passages.size == 0:  # nothing near in FAISS (an empty IVF list) and no shared word
        empty = np.zeros(shape, dtype=np.float32)
        return Candidates(passages, mask, empty, empty, empty, empty, coverage, terms, empty)
    rows = np.concatenate([index.unit_rows(p) for p in passages])
    sizes = index.unit_counts[passages]
    starts = np.cumsum(sizes) - sizes
    cosines = vectors @ index.vectors[rows].T  # questions × the candidates' units
    dense = np.maximum.reduceat(cosines, starts, axis=1)
    sentence = np.maximum.reduceat(np.where(index.is_clause[rows], -np.inf, cosines), starts, axis=1)
    whole = cosines[:, starts]  # a passage's own vector is its first unit
    # each passage's key unit for each question: the first of its key units with the best cosine
    keys = np.where(index.is_key[rows], cosines, -np.inf)
    best_key = np.repeat(np.maximum.reduceat(keys, starts, axis=1), sizes, axis=1)
    position = np.where(keys == best_key, np.arange(len(rows)), len(rows))
    key_rows = rows[np.minimum.reduceat(position, starts, axis=1)]
    return Candidates(
        passages=passages,
        mask=mask,
        dense=dense,
        sentence=sentence,
        whole=whole,
        lexical=lexical[:, passages],
        coverage=coverage,
        terms=terms,
        key_rows=key_rows,
    )
