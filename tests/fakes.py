"""A deterministic stand-in for the sentence-transformers model, so most tests never load weights."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from index.passages import count_words
from index.scorer import LinearModel, Scorer

_TOKEN = re.compile(r"\w+", re.UNICODE)
# Function words carry no topic; leaving them out lets an off-topic question score near zero, as it
# does with the real model.
_FUNCTION_WORDS = frozenset(
    """a an and are as at be by can did do does for from has have he her his how i in is it its of on
    or she that the their them they this to was we were what when where which who why will with would
    you""".split()
)


class FakeEmbedder:
    """Hashes lower-cased word tokens into a fixed-dimension bag-of-words vector, L2-normalised.

    Texts sharing words get a high cosine, texts sharing none a cosine near zero. `embedded` counts
    every text it has embedded, so a test can prove what a reindex re-embedded.
    """

    def __init__(self, *, dimension: int = 512, max_tokens: int = 40, name: str = "fake-hashing") -> None:
        self.dimension = dimension
        self.max_tokens = max_tokens
        self.identity = f"{name}@{dimension}"
        self.embedded = 0
        self.batches: list[list[str]] = []

    def count_tokens(self, text: str) -> int:
        """Words stand in for word-piece tokens."""
        return count_words(text)

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """One unit-length float32 row per text."""
        rows = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in zip(rows, texts, strict=True):
            words = [w for w in _TOKEN.findall(text.lower()) if w not in _FUNCTION_WORDS]
            for word in words or ["<no words>"]:  # the real model never returns a zero vector either
                digest = hashlib.blake2b(word.encode("utf-8", "surrogatepass"), digest_size=8).digest()
                row[int.from_bytes(digest, "little") % self.dimension] += 1.0
            row /= np.linalg.norm(row)
        self.embedded += len(texts)
        self.batches.append(list(texts))
        return rows


def fake_scorer() -> Scorer:
    """A scorer for the fake embedder, whose cosines are shares of shared words (a real scorer is
    fitted to one model's cosines): ranks by the best passage-or-sentence cosine and a little BM25;
    "none" when no candidate reaches 0.2 (the fake's cosine of a question sharing a content word or
    two with a passage), "high" when the first does, "low" only when the best is not first."""

    def step(feature: str, at: float) -> LinearModel:
        return LinearModel((feature,), np.array([at]), np.array([0.01]), np.array([1.0]), 0.0)

    return Scorer(
        rank=LinearModel(("sentence", "lexical_z"), np.zeros(2), np.ones(2), np.array([1.0, 0.1]), 0.0),
        correct=step("top_sentence", 0.2),
        covered=step("best_sentence", 0.2),
        high_from=0.5,
        none_below=0.5,
        about={"for": "tests.fakes.FakeEmbedder"},
    )
