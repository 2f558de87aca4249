"""FAISS at corpus sizes from one article to a million units: the automatic index choice against exact
search, with recall@10 of the candidates as the retriever ranks them."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from bench.corpus import clustered_vectors, uniform_vectors
from bench.measure import median
from index.candidates import DENSE_UNITS as DENSE_CANDIDATES
from index.vector_index import ExactIndex, build_vector_index, describe, nearest_rows


def _single_query_ms(index: Any, queries: np.ndarray, k: int) -> float:
    times = []
    for query in queries:
        started = time.perf_counter()
        nearest_rows(index, query[None], k)
        times.append(time.perf_counter() - started)
    return median(times) * 1000


def _recall_at_10(vectors: np.ndarray, index: Any, queries: np.ndarray, truth: np.ndarray) -> float:
    """Share of the exact top 10 found when the candidates are ranked exactly, as SearchIndex does."""
    found = 0
    for query, exact in zip(queries, truth, strict=True):
        rows = nearest_rows(index, query[None], DENSE_CANDIDATES)[0]
        rows = rows[rows >= 0]
        best = rows[np.argsort(-(vectors[rows] @ query))[:10]]
        found += len(set(best.tolist()) & set(exact.tolist()))
    return found / (10 * len(queries))


def _index_mb(index: Any) -> float:
    """The index's own memory: none for an exact index, which searches the vectors themselves."""
    import faiss

    if isinstance(index, ExactIndex):
        return 0.0
    return faiss.serialize_index(index).nbytes / 1e6


def measure_size(
    vectors: np.ndarray, queries: np.ndarray, *, timed_queries: int, exact_max: int | None = None
) -> dict[str, Any]:
    """Build the automatic index over `vectors`; time it against exact flat search."""
    import faiss

    count = len(vectors)
    k = min(DENSE_CANDIDATES, count)
    started = time.perf_counter()
    chosen = build_vector_index(vectors, exact_max=exact_max)
    build_s = time.perf_counter() - started
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    faiss.omp_set_num_threads(2)
    _, truth = exact.search(queries, 10)  # batched: BLAS, fast even at 1M
    result = {
        "vectors": count,
        "index": describe(chosen),
        "build_s": build_s,
        "search_p50_ms": _single_query_ms(chosen, queries[:timed_queries], k),
        "exact_p50_ms": _single_query_ms(exact, queries[: max(5, timed_queries // 4)], k),
        "recall_at_10": _recall_at_10(vectors, chosen, queries, truth),
        "index_mb": _index_mb(chosen),
        "vectors_mb": vectors.nbytes / 1e6,
    }
    return result


def scale(sizes: tuple[int, ...], queries: int = 200, timed_queries: int = 100) -> dict[str, Any]:
    """The automatic choice at each size (clustered vectors), and IVF forced on uniform random vectors."""
    results = []
    for size in sizes:
        vectors, probe = clustered_vectors(size, queries, seed=size)
        results.append(measure_size(vectors, probe, timed_queries=timed_queries))
        del vectors
    hard_size = min(100_000, max(sizes))
    vectors, probe = uniform_vectors(hard_size, queries)
    hard = measure_size(vectors, probe, timed_queries=timed_queries, exact_max=0)
    return {"clustered": results, "uniform_forced_ivf": hard}
