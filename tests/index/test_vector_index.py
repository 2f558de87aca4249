"""The FAISS index choice: exact for a small corpus, IVF above the threshold, with high recall on a
clustered synthetic set, persisted in index.faiss and served by the retriever."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from index import vector_index
from index.passages import Passage
from index.retriever import SearchIndex
from index.store import SCHEMA_VERSION, IndexData, IndexStore, Manifest, Unit
from index.vector_index import build_vector_index, describe, nearest_rows

DIMENSION = 64


def clustered(count: int, *, seed: int = 0, topics: int = 50) -> np.ndarray:
    """Unit vectors around `topics` random centres (topic signal as strong as the noise)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((topics, DIMENSION)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    noise = rng.standard_normal((count, DIMENSION)).astype(np.float32) / np.sqrt(DIMENSION)
    vectors = centres[rng.integers(0, topics, count)] + noise
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def test_a_small_corpus_gets_an_exact_index():
    index = build_vector_index(clustered(500))
    assert describe(index) == "flat (exact)"


def test_a_large_corpus_gets_ivf_with_recall_near_exact():
    both = clustered(20_050)  # queries from the same topics as the corpus, but not in it
    vectors, queries = both[:20_000], both[20_000:]
    ivf = build_vector_index(vectors, exact_max=1_000)
    assert describe(ivf).startswith("IVF")
    exact = build_vector_index(vectors)
    found = 0
    for query in queries:
        truth = set(nearest_rows(exact, query[None], 10)[0])
        # as the retriever does: fetch candidates approximately, rank them exactly
        candidates = nearest_rows(ivf, query[None], 256)[0]
        candidates = candidates[candidates >= 0]
        best = candidates[np.argsort(-(vectors[candidates] @ query))[:10]]
        found += len(truth & set(best.tolist()))
    assert found / (10 * len(queries)) >= 0.95


def test_too_few_vectors_to_train_lists_stay_exact():
    assert describe(build_vector_index(clustered(2_000), exact_max=100)) == "flat (exact)"


def synthetic_index(count: int) -> IndexData:
    passages = tuple(
        Passage(
            text=f"Passage number {n} about topic {n % 97}.",
            article="Synthetic",
            source="s.txt",
            paragraph=n + 1,
        )
        for n in range(count)
    )
    units = tuple(Unit(passage=n, text=p.text, key=f"k{n}") for n, p in enumerate(passages))
    manifest = Manifest(
        schema=SCHEMA_VERSION,
        model="synthetic",
        dimension=DIMENSION,
        articles=(),
        built_at="2026-01-01T00:00:00",
    )
    return IndexData(manifest=manifest, passages=passages, units=units, vectors=clustered(count))


def test_the_ivf_index_is_saved_loaded_and_served(tmp_path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(vector_index, "EXACT_MAX_VECTORS", 1_000)
    data = synthetic_index(12_000)
    store = IndexStore(tmp_path / "index")
    store.save(data)
    loaded = store.load()
    assert describe(loaded.search_index).startswith("IVF")
    assert "nprobe=16" in describe(loaded.search_index)

    served = SearchIndex(loaded)
    exact = SearchIndex(replace(data, search_index=build_vector_index(data.vectors)))
    query = clustered(1, seed=7)[0]
    _, hits = served.search("topic", query, 5)
    _, exact_hits = exact.search("topic", query, 5)
    assert [hit.passage for hit in hits] == [hit.passage for hit in exact_hits]
