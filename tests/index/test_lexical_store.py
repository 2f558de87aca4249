"""BM25 saved with the index (lexical.npz) scores exactly as BM25 rebuilt from the passages, so a
restart needn't re-tokenize every passage; an index saved without it still loads and serves."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from index.build import lexical_index
from index.lexical import Bm25
from index.retriever import Retriever, SearchIndex
from index.settings import IndexSettings
from index.store import IndexStore, IndexUnavailable
from tests.fakes import FakeEmbedder

QUERIES = [
    "What does Juntos, the immigrant advocacy group, say?",
    "ICE arrest database contract",
    "Kenney sanctuary city",
    "sourdough",
    "",
]


def test_arrays_round_trip_gives_identical_scores():
    documents = [
        "The mayor said ICE misused data.",
        "Juntos, an immigrant group, spoke.",
        "",
        "data data data",
    ]
    built = Bm25(documents)
    loaded = Bm25.from_arrays(built.to_arrays())
    assert len(loaded) == len(built)
    for query in [*QUERIES, "data mayor"]:
        assert np.array_equal(loaded.scores(query), built.scores(query))
        assert loaded.coverage(query) == built.coverage(query)


def test_an_empty_vocabulary_round_trips():
    built = Bm25(["", "the and of"])
    assert np.array_equal(Bm25.from_arrays(built.to_arrays()).scores("anything"), np.zeros(2))


def test_the_saved_bm25_is_loaded_and_ranks_as_a_rebuilt_one(retriever: Retriever, settings: IndexSettings):
    loaded = IndexStore(settings.index_dir).load()
    assert loaded.lexical is not None
    assert (settings.index_dir / "lexical.npz").is_file()
    rebuilt = lexical_index(loaded.passages, loaded.manifest.aliases["acronyms"])
    for query in QUERIES:
        assert np.array_equal(loaded.lexical.scores(query), rebuilt.scores(query))

    served = SearchIndex(loaded)
    fresh = SearchIndex(dataclasses.replace(loaded, lexical=None))
    embedder = FakeEmbedder()
    for query in QUERIES[:4]:
        vector = embedder.embed([query])[0]
        assert served.search(query, vector, 5) == fresh.search(query, vector, 5)


def test_an_index_saved_without_bm25_still_loads(retriever: Retriever, settings: IndexSettings, tmp_path):
    store = IndexStore(tmp_path / "plain")
    store.save(dataclasses.replace(retriever.data, lexical=None))
    loaded = store.load()
    assert loaded.lexical is None
    assert "lexical.npz" not in json.loads((tmp_path / "plain" / "manifest.json").read_text())["checksums"]
    assert SearchIndex(loaded).passage_count == len(loaded.passages)


def test_a_corrupt_bm25_file_makes_the_index_unavailable(retriever: Retriever, settings: IndexSettings):
    (settings.index_dir / "lexical.npz").write_bytes(b"not an npz")
    with pytest.raises(IndexUnavailable, match=r"lexical\.npz does not match"):
        IndexStore(settings.index_dir).load()


def test_queries_scored_together_score_as_each_alone():
    bm25 = Bm25(["the mayor ended the contract", "ICE arrest data", "the contract expires in August"])
    queries = ["contract", "", "mayor contract arrests", "sourdough"]

    together = bm25.score_queries(queries)

    for number, query in enumerate(queries):
        assert together.scores[number] == pytest.approx(bm25.scores(query))
        assert together.coverage[number] == bm25.coverage(query)
    assert together.coverage.tolist() == [1.0, 0.0, 1.0, 0.0]
