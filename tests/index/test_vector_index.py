"""The vector index choice: exact for a small corpus (FAISS's flat search over vectors.npy itself), IVF
above the threshold, with high recall on a clustered synthetic set, persisted in index.faiss, checked
when loaded and served by the retriever."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import faiss
import numpy as np
import pytest

from index import vector_index
from index.passages import Passage
from index.retriever import SearchIndex
from index.store import SCHEMA_VERSION, IndexData, IndexStore, IndexUnavailable, Manifest, checksum
from index.units import Unit, Units
from index.vector_index import ExactIndex, build_vector_index, describe, nearest_rows

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


@pytest.mark.parametrize("queries", [1, 7, 64])
def test_the_exact_index_finds_what_faiss_flat_finds(queries: int):
    """Same rows in the same order, same scores, ties included: it runs FAISS's own flat search."""
    vectors = clustered(3_000)
    vectors[1_000:1_010] = vectors[5]  # equal vectors: ties
    flat = faiss.IndexFlatIP(DIMENSION)
    flat.add(vectors)
    exact = ExactIndex(vectors)
    asked = np.concatenate([vectors[5:6], clustered(queries - 1, seed=3)]) if queries > 1 else vectors[5:6]

    for k in (10, 256, 3_000):
        scores, rows = exact.search(asked, k)
        flat_scores, flat_rows = flat.search(asked, k)
        np.testing.assert_array_equal(rows, flat_rows)
        np.testing.assert_array_equal(scores, flat_scores)
        np.testing.assert_array_equal(nearest_rows(exact, asked, k), flat_rows)
    assert np.shares_memory(exact.vectors, vectors)  # no copy of the vectors


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
    units = Units.of(Unit(passage=n, text=p.text, key=f"k{n}") for n, p in enumerate(passages))
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
    [(passages, features, _)] = served.examine(["topic"], query[None, :])
    [(exact_passages, exact_features, _)] = exact.examine(["topic"], query[None, :])
    assert np.array_equal(passages, exact_passages)
    assert np.allclose(features, exact_features)


@pytest.fixture(scope="module")
def saved_ivf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An IVF index saved once (copy it before damaging it)."""
    directory = tmp_path_factory.mktemp("ivf") / "index"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(vector_index, "EXACT_MAX_VECTORS", 1_000)
        IndexStore(directory).save(synthetic_index(12_000))
    return directory


def garbage(path: Path) -> None:
    path.write_bytes(b"this is not a FAISS index" * 10)


def truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:1_000])


def deleted(path: Path) -> None:
    path.unlink()


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (garbage, "index.faiss does not match"),
        (truncated, "index.faiss does not match"),
        (deleted, "unreadable"),
    ],
    ids=lambda value: getattr(value, "__name__", ""),
)
def test_a_damaged_ivf_file_makes_the_index_unavailable(
    saved_ivf: Path, tmp_path: Path, damage: Callable[[Path], None], match: str
):
    directory = tmp_path / "index"
    shutil.copytree(saved_ivf, directory)
    damage(directory / "index.faiss")

    with pytest.raises(IndexUnavailable, match=match):
        IndexStore(directory).load()


@pytest.mark.parametrize("damage", [garbage, truncated], ids=["garbage", "truncated"])
def test_a_broken_ivf_file_with_a_matching_checksum_is_still_unavailable(
    saved_ivf: Path, tmp_path: Path, damage: Callable[[Path], None]
):
    directory = tmp_path / "index"
    shutil.copytree(saved_ivf, directory)
    path = directory / "index.faiss"
    damage(path)
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest["checksums"]["index.faiss"] = checksum(path.read_bytes())
    (directory / "manifest.json").write_text(json.dumps(manifest))

    with pytest.raises(IndexUnavailable, match="unreadable"):
        IndexStore(directory).load()


def test_a_crash_while_writing_index_faiss_leaves_the_previous_index(
    saved_ivf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    directory = tmp_path / "index"
    shutil.copytree(saved_ivf, directory)
    before = {path.name: path.read_bytes() for path in directory.iterdir()}
    monkeypatch.setattr(vector_index, "EXACT_MAX_VECTORS", 1_000)

    def disk_on_fire(*_: object) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(faiss, "write_index", disk_on_fire)
    with pytest.raises(OSError, match="disk on fire"):
        IndexStore(directory).save(synthetic_index(11_000))

    assert {path.name: path.read_bytes() for path in directory.iterdir()} == before
    assert describe(IndexStore(directory).load().search_index).startswith("IVF")
