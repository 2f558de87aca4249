"""The benchmark's own inputs and arithmetic: what it measures must be what it says it measures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.answering import question_for, throughput
from bench.corpus import clustered_vectors, uniform_vectors, write_articles
from bench.measure import percentile
from index.articles import article_passages, load_articles
from index.build import plan_units
from index.passages import count_words
from tests.conftest import SHIPPED_ARTICLE


def test_percentiles_interpolate():
    assert percentile([1, 2, 3, 4], 0.5) == 2.5
    assert percentile([5], 0.99) == 5
    assert percentile([1, 2, 3, 4, 5], 0.0) == 1
    assert np.isnan(percentile([], 0.5))


def test_the_synthetic_corpus_has_the_asked_passages_and_no_repeated_unit(tmp_path: Path):
    write_articles(tmp_path, SHIPPED_ARTICLE, passages=230, per_article=50)
    articles = load_articles(tmp_path)
    assert len(articles.articles) == 5
    passages = [p for a in articles.articles for p in article_passages(a, 200, count_words)]
    assert len(passages) == 230
    units = [text for _, text, _ in plan_units(passages)]
    assert len(set(units)) == len(units)  # nothing the embedding cache could deduplicate


def test_synthetic_vectors_are_unit_length_float32():
    for vectors, queries in (
        clustered_vectors(3_000, 10, dimension=32),
        uniform_vectors(500, 5, dimension=32),
    ):
        assert vectors.dtype == np.float32
        assert queries.shape[0] in (10, 5)
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)


def test_no_throughput_batch_repeats_a_question():
    texts = [f"question {number}" for number in range(77)]

    for clients in (1, 8, 64):
        for turn in range(5):
            asked = [question_for(texts, clients, client, turn) for client in range(clients)]
            assert len(set(asked)) == clients


def test_throughput_refuses_repeated_or_too_few_questions():
    with pytest.raises(ValueError, match="none repeated"):
        throughput(None, ["same question"] * 64, levels=(1, 8, 64), repeats=1)
    with pytest.raises(ValueError, match="64 or more"):
        throughput(None, [f"question {number}" for number in range(49)], levels=(1, 8, 64), repeats=1)


def test_the_library_bench_page_is_read_back_as_its_paragraphs_and_stand_ins_look_like_the_model(
    tmp_path: Path,
):
    from bench.library import SOURCE, StandIn, web_page
    from index.articles import read_article
    from tests.fakes import FakeEmbedder

    page = tmp_path / "page.html"
    page.write_text(web_page(SOURCE, 30))

    read = read_article(page)
    assert read.paragraphs == read_article(SOURCE).paragraphs[:30]
    assert read.title == read_article(SOURCE).title
    model = FakeEmbedder(dimension=8)
    stand_in = StandIn(model)
    vectors = stand_in.embed(["a b", "c d", "a b"])
    assert (stand_in.identity, stand_in.dimension, stand_in.max_tokens) == (
        model.identity,
        8,
        model.max_tokens,
    )
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1)
    assert np.array_equal(vectors[0], vectors[2])
    assert not np.allclose(vectors[0], vectors[1])
