"""What "not covered" looks like on each article: its null profile.

How close a question's best passage is depends on the article as much as on the question: a long
encyclopedia page has something within cosine 0.4 of almost any question, a short news story does
not. So each article is scored, at build time, against a fixed bank of generic questions about
other things (`null_questions.txt`, written for this purpose), and a question's cosine is read
against that article's own distribution (index.features: `null_z`, `null_exceed`) rather than
against one absolute threshold.
"""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path

import numpy as np

from index.embedding import Embedder

NULL_QUESTIONS = Path(__file__).with_name("null_questions.txt")
MIN_SPREAD = 0.02  # a floor for the spread, so an article whose null cosines barely vary can't divide by ~0

_vectors: dict[str, np.ndarray] = {}
_vectors_lock = threading.Lock()


@cache
def null_questions() -> tuple[str, ...]:
    """The bank of generic questions, one per line."""
    lines = NULL_QUESTIONS.read_text(encoding="utf-8").splitlines()
    return tuple(line.strip() for line in lines if line.strip())


def null_vectors(embedder: Embedder) -> np.ndarray:
    """The bank embedded by `embedder` (once per model identity per process)."""
    with _vectors_lock:
        if embedder.identity not in _vectors:
            _vectors[embedder.identity] = embedder.embed(list(null_questions()))
        return _vectors[embedder.identity]


def null_profile(bank: np.ndarray, article_vectors: np.ndarray) -> list[float]:
    """Per bank question, its best cosine to any of the article's passage and sentence vectors,
    sorted ascending and rounded (it is stored in the index manifest)."""
    best = (bank @ article_vectors.T).max(axis=1)
    return [round(float(value), 4) for value in np.sort(best)]


def profile_stats(profile: list[float]) -> tuple[float, float]:
    """Mean and spread (at least MIN_SPREAD) of a null profile."""
    values = np.asarray(profile, dtype=np.float64)
    return float(values.mean()), max(float(values.std()), MIN_SPREAD)
