"""Synthetic inputs: article files with unique sentences (for builds and restarts) and clustered unit
vectors (for the FAISS scale test)."""

from __future__ import annotations

import random
import re
from pathlib import Path

import numpy as np

from index.articles import read_article
from index.passages import split_sentences

# Where index.passages.split_clauses may cut (after , ; : and around dashes): every piece between
# two such cuts gets its own tag, so each clause the build embeds is unique.
_PIECE_BREAK = re.compile(r"[,;:]\s+|\s+[—–]\s+")
PLACES = (
    "Kensington",
    "Fishtown",
    "Germantown",
    "Manayunk",
    "Point Breeze",
    "Olney",
    "Roxborough",
    "Frankford",
    "Mayfair",
    "Chinatown",
)


def sentence_pool(article: Path) -> list[str]:
    """The sentences of the shipped article's prose paragraphs as cleaned (longer than a few words)."""
    paragraphs = read_article(article).paragraphs
    return [s for p in paragraphs if len(p.split()) > 12 for s in split_sentences(p) if len(s.split()) > 5]


def write_articles(
    directory: Path, article: Path, *, passages: int, per_article: int = 50, seed: int = 0
) -> None:
    """Write `passages` paragraphs of 1-2 sentences (short: the build embeds every unit, and the bench
    must fit in minutes), `per_article` to a file. Every clause is made unique (a case number), so
    nothing is deduplicated by the embedding cache."""
    rng = random.Random(seed)
    pool = sentence_pool(article)
    directory.mkdir(parents=True, exist_ok=True)
    serial = 0
    for number in range(0, passages, per_article):
        paragraphs = []
        for _ in range(min(per_article, passages - number)):
            sentences = []
            for _ in range(rng.choice((1, 1, 1, 2))):
                serial += 1
                # every clause tagged, since clauses get vectors of their own too
                pieces = _PIECE_BREAK.split(rng.choice(pool).rstrip("."))
                tagged = [f"{piece} (case {serial}{chr(97 + n)})" for n, piece in enumerate(pieces)]
                sentences.append(", ".join(tagged) + f", {rng.choice(PLACES)} report {serial}.")
            paragraphs.append(" ".join(sentences))
        title = f"Synthetic city report {number // per_article + 1}"
        text = title + "\n\n" + "\n\n".join(paragraphs) + "\n"
        (directory / f"report-{number // per_article + 1:04d}.txt").write_text(text, encoding="utf-8")


def clustered_vectors(
    count: int, queries: int, *, dimension: int = 384, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors around one random topic centre per 1,000 vectors, with isotropic noise as strong as
    the topic (cosine ~0.5 within a topic, ~0 across); `queries` more from the same topics."""
    rng = np.random.default_rng(seed)
    topics = max(5, count // 1000)
    centres = rng.standard_normal((topics, dimension), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    out = np.empty((count + queries, dimension), dtype=np.float32)
    for start in range(0, len(out), 100_000):
        chunk = out[start : start + 100_000]
        chunk[:] = rng.standard_normal(chunk.shape, dtype=np.float32) / np.float32(np.sqrt(dimension))
        chunk += centres[rng.integers(0, topics, len(chunk))]
        chunk /= np.linalg.norm(chunk, axis=1, keepdims=True)
    return out[:count], out[count:]


def uniform_vectors(
    count: int, queries: int, *, dimension: int = 384, seed: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors uniform on the sphere: no structure at all, the hard case for any ANN index."""
    rng = np.random.default_rng(seed)
    out = rng.standard_normal((count + queries, dimension), dtype=np.float32)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out[:count], out[count:]
