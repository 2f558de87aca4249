"""The index over the unit vectors: exact below a size threshold, approximate (FAISS IVF) above it.

Search only fetches *candidates*; `SearchIndex` then scores each candidate passage exactly from the
stored vectors, so an approximate index can only change which passages are considered, never their
scores. Why these parameters: docs/benchmarks.md ("Scale").
"""

from __future__ import annotations

import logging
import math
import os
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

# Up to this many vectors a flat (exact) search takes a few ms on one core; above it, IVF.
EXACT_MAX_VECTORS = 50_000
# Each vector stored as 8-bit codes: a quarter of the float32 memory; candidates are re-scored exactly.
IVF_ENCODING = "SQ8"
TRAINING_POINTS_PER_LIST = 40  # FAISS warns below 39; more only slows the k-means
SCANNED_SHARE = 1 / 32  # nprobe = this share of the lists, at least MIN_PROBES
MIN_PROBES = 16
# Searches comparing at least this many query × vector pairs use every core.
THREADED_SEARCH_MIN_PAIRS = 1_000_000


def ivf_lists(count: int) -> int:
    """Number of IVF lists for `count` vectors: about sqrt(count), a power of two in [256, 4096]."""
    return int(min(4096, max(256, 2 ** round(math.log2(math.sqrt(count))))))


class ExactIndex:
    """Exact inner-product search over the vectors themselves. faiss.knn runs the routine FAISS's
    IndexFlatIP.search runs (same candidates, same order), without IndexFlatIP's own copy of every
    vector: so there is nothing to save beside vectors.npy, nor to copy when it is loaded."""

    def __init__(self, vectors: np.ndarray) -> None:
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)

    @property
    def ntotal(self) -> int:
        return len(self.vectors)

    @property
    def d(self) -> int:
        return self.vectors.shape[1]

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Scores and rows of the `k` nearest vectors for each query, as a FAISS index's search."""
        import faiss

        return faiss.knn(queries, self.vectors, k, metric=faiss.METRIC_INNER_PRODUCT)


def build_vector_index(vectors: np.ndarray, *, exact_max: int | None = None) -> Any:
    """An inner-product index over unit `vectors`: `ExactIndex` when there are at most `exact_max`
    (default EXACT_MAX_VECTORS), else FAISS IVF with 8-bit codes (trained on a deterministic sample)."""
    import faiss

    count, dimension = vectors.shape
    exact_max = EXACT_MAX_VECTORS if exact_max is None else exact_max
    # IVF needs enough vectors to train its lists; below that a flat search is fast anyway.
    if count <= exact_max or count < ivf_lists(count) * TRAINING_POINTS_PER_LIST:
        return ExactIndex(vectors)
    lists = ivf_lists(count)
    faiss.omp_set_num_threads(os.cpu_count() or 1)  # building is batched work: use every core
    index = faiss.index_factory(dimension, f"IVF{lists},{IVF_ENCODING}", faiss.METRIC_INNER_PRODUCT)
    sample = np.random.default_rng(0).choice(
        count, min(count, lists * TRAINING_POINTS_PER_LIST), replace=False
    )
    index.train(vectors[np.sort(sample)])
    index.add(vectors)
    configure(index)
    log.info("approximate vector index: IVF%d,%s over %d vectors", lists, IVF_ENCODING, count)
    return index


def configure(index: Any) -> Any:
    """Set search-time parameters (nprobe) on a FAISS index read from disk or just built."""
    import faiss

    ivf = faiss.try_extract_index_ivf(index)
    if ivf is not None:
        ivf.nprobe = max(MIN_PROBES, int(ivf.nlist * SCANNED_SHARE))
    return index


def _ivf(index: Any) -> Any:
    """The IVF part of a FAISS index, or None (an exact index)."""
    import faiss

    return None if isinstance(index, ExactIndex) else faiss.try_extract_index_ivf(index)


def describe(index: Any) -> str:
    """A short name of the index type, for logs and the benchmark."""
    ivf = _ivf(index)
    if ivf is None:
        return "flat (exact)"
    return f"IVF{ivf.nlist},{IVF_ENCODING} nprobe={ivf.nprobe}"


def _scanned_per_query(index: Any) -> float:
    """About how many vectors one query is compared with: all of them, or its IVF lists' share."""
    ivf = _ivf(index)
    return index.ntotal if ivf is None else index.ntotal * ivf.nprobe / ivf.nlist


def nearest_rows(index: Any, queries: np.ndarray, k: int) -> np.ndarray:
    """Rows of the `k` nearest vectors for each query (-1 where there are fewer)."""
    import faiss

    # A small search (one query, or a batch of questions over a small index) is latency-bound:
    # OpenMP threads only add barrier waits (several times slower on this 2-core machine when another
    # process is busy), and then spin idle beside the model's threads. Per-thread setting; builds
    # set their own.
    parallel = len(queries) * _scanned_per_query(index) >= THREADED_SEARCH_MIN_PAIRS
    faiss.omp_set_num_threads((os.cpu_count() or 1) if parallel else 1)
    _, rows = index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
    return rows
