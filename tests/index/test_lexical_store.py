"""BM25 saved with the index (lexical-terms.npy, lexical-postings.npy) scores exactly as BM25 rebuilt
from the passages, so a restart needn't re-tokenize every passage; an index saved without it still
loads and serves. The scores are the textbook formula's."""

from __future__ import annotations

import dataclasses
import json
import math
from collections import Counter

import numpy as np
import pytest

from index.aliases import LibraryAliases
from index.build import lexical_index
from index.lexical import Bm25, tokenize
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
    loaded = Bm25.from_arrays(**built.to_arrays(), documents=len(documents))
    assert len(loaded) == len(built)
    for query in [*QUERIES, "data mayor"]:
        assert np.array_equal(loaded.scores(query), built.scores(query))
        assert loaded.coverage(query) == built.coverage(query)


def test_an_empty_vocabulary_round_trips():
    built = Bm25(["", "the and of"])
    loaded = Bm25.from_arrays(**built.to_arrays(), documents=2)
    assert np.array_equal(loaded.scores("anything"), np.zeros(2))


def textbook_bm25(documents: list[str], query: str, k1: float = 1.2, b: float = 0.75) -> list[float]:
    """Okapi BM25 written out plainly, in float64."""
    counts = [Counter(tokenize(document)) for document in documents]
    average = sum(sum(c.values()) for c in counts) / len(counts) or 1.0
    scores = []
    for document in counts:
        length = sum(document.values())
        score = 0.0
        for term in set(tokenize(query)):
            having = sum(term in other for other in counts)
            tf = document[term]
            if tf:
                idf = math.log(1 + (len(counts) - having + 0.5) / (having + 0.5))
                score += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / average))
        scores.append(score)
    return scores


def test_scores_are_the_textbook_formula(retriever: Retriever):
    documents = [passage.text for passage in retriever.data.passages]
    bm25 = Bm25(documents)
    for query in QUERIES:
        np.testing.assert_allclose(bm25.scores(query), textbook_bm25(documents, query), rtol=1e-5, atol=1e-6)


def test_document_frequencies_are_counted_from_the_documents(retriever: Retriever):
    documents = [passage.text for passage in retriever.data.passages]
    bm25 = Bm25(documents)
    having = Counter(term for document in documents for term in set(tokenize(document)))

    assert all(bm25.document_frequency(term) == count for term, count in having.items())
    assert bm25.document_frequency("sourdough") == 0


@pytest.mark.parametrize(
    "damage",
    [
        lambda arrays: {**arrays, "terms": arrays["terms"][::-1]},  # out of order
        lambda arrays: {**arrays, "postings": arrays["postings"][:-1]},  # one posting short
        lambda arrays: {**arrays, "terms": arrays["terms"]["term"]},  # not records
    ],
    ids=["terms-out-of-order", "postings-short", "terms-not-records"],
)
def test_arrays_it_could_not_have_saved_are_refused(damage):
    arrays = Bm25(["The mayor said ICE misused data.", "Juntos spoke."]).to_arrays()
    with pytest.raises(ValueError, match="BM25"):
        Bm25.from_arrays(**damage(arrays), documents=2)
    with pytest.raises(ValueError, match="outside the 1"):
        Bm25.from_arrays(**arrays, documents=1)


def test_the_saved_bm25_is_loaded_and_ranks_as_a_rebuilt_one(retriever: Retriever, settings: IndexSettings):
    loaded = IndexStore(settings.index_dir).load()
    assert loaded.lexical is not None
    assert (settings.index_dir / "lexical-terms.npy").is_file()
    assert (settings.index_dir / "lexical-postings.npy").is_file()
    rebuilt = lexical_index(loaded.passages, LibraryAliases.from_manifest(loaded.manifest.aliases))
    for query in QUERIES:
        assert np.array_equal(loaded.lexical.scores(query), rebuilt.scores(query))

    served = SearchIndex(loaded)
    fresh = SearchIndex(dataclasses.replace(loaded, lexical=None))
    embedder = FakeEmbedder()
    for query in QUERIES[:4]:
        vector = embedder.embed([query])[0]
        [(passages, features, keys)] = served.examine([query], vector[None, :])
        [(fresh_passages, fresh_features, fresh_keys)] = fresh.examine([query], vector[None, :])
        assert np.array_equal(passages, fresh_passages)
        assert np.array_equal(keys, fresh_keys)
        assert np.array_equal(features, fresh_features)


def test_an_index_saved_without_bm25_still_loads(retriever: Retriever, settings: IndexSettings, tmp_path):
    store = IndexStore(tmp_path / "plain")
    store.save(dataclasses.replace(retriever.data, lexical=None))
    loaded = store.load()
    assert loaded.lexical is None
    checksums = json.loads((tmp_path / "plain" / "manifest.json").read_text())["checksums"]
    assert not any(name.startswith("lexical") for name in checksums)
    assert SearchIndex(loaded).passage_count == len(loaded.passages)


def test_a_corrupt_bm25_file_makes_the_index_unavailable(retriever: Retriever, settings: IndexSettings):
    (settings.index_dir / "lexical-terms.npy").write_bytes(b"not a .npy file")
    with pytest.raises(IndexUnavailable, match=r"lexical-terms\.npy does not match"):
        IndexStore(settings.index_dir).load()


def test_queries_scored_together_score_as_each_alone():
    bm25 = Bm25(["the mayor ended the contract", "ICE arrest data", "the contract expires in August"])
    queries = ["contract", "", "mayor contract arrests", "sourdough"]

    together = bm25.score_queries(queries)

    for number, query in enumerate(queries):
        assert together.scores[number] == pytest.approx(bm25.scores(query))
        assert together.coverage[number] == bm25.coverage(query)
    assert together.coverage.tolist() == [1.0, 0.0, 1.0, 0.0]
