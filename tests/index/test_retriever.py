"""The Retriever with the fake embedder: question handling, ranking plumbing and reindexing."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from index.articles import ArticleError
from index.passages import split_sentences
from index.retriever import (
    EMPTY_QUESTION,
    MAX_QUESTION_CHARS,
    SHORTENED_QUESTION,
    ReindexRunning,
    Retriever,
    UnknownArticle,
    normalize_question,
)
from index.settings import IndexSettings
from index.store import IndexStore
from tests.conftest import SHIPPED_ARTICLE
from tests.fakes import FakeEmbedder

ON_TOPIC = "What does Juntos, the immigrant advocacy group, say?"
REWRITTEN = "What does Juntos, the community organising group, say?"  # ON_TOPIC after `rewrite`
OFF_TOPIC = "sourdough bread baking tips"


def rewrite(settings: IndexSettings, old: str, new: str) -> None:
    path = settings.articles_dir / SHIPPED_ARTICLE.name
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


# --- Questions -----------------------------------------------------------------------------------


@pytest.mark.parametrize("question", ["", "   ", "\n\t \u200b\u200d", "\x00\x07"])
def test_an_empty_question_gets_a_notice_and_no_passages(retriever: Retriever, question: str):
    answer = retriever.ask(question)

    assert answer.notice == EMPTY_QUESTION == "Please ask a question about the article."
    assert answer.confidence == "none"
    assert answer.hits == ()


def test_a_long_question_is_capped_at_a_word_boundary_with_a_notice(retriever: Retriever):
    question = "Why did the mayor end the contract with the agency? " * 20
    assert len(question) > MAX_QUESTION_CHARS

    answer = retriever.ask(question)

    assert answer.notice == SHORTENED_QUESTION
    assert str(MAX_QUESTION_CHARS) in answer.notice
    assert len(answer.question) <= MAX_QUESTION_CHARS
    assert question.startswith(answer.question)
    assert question[len(answer.question)] == " "  # cut between words
    assert answer.hits


def test_a_question_of_500_characters_is_not_shortened():
    question = "x" * MAX_QUESTION_CHARS

    assert normalize_question(question) == (question, None)


def test_a_printable_question_keeps_every_character_but_extra_spaces():
    assert (
        normalize_question(" Qui a dit « non »  ?  2008–2009, café ")[0]
        == "Qui a dit « non » ? 2008–2009, café"
    )


def test_control_and_zero_width_characters_are_stripped():
    raw = "\u200bWhen\u00a0does the\tcon\u200btract\x07expire?\u2067\r\n"

    assert normalize_question(raw) == ("When does the contract expire?", None)


def test_an_off_topic_question_gets_none_and_no_passages(retriever: Retriever):
    answer = retriever.ask(OFF_TOPIC)

    assert answer.confidence == "none"
    assert answer.hits == ()
    assert answer.notice is None


def test_no_candidate_at_all_is_answered_none_not_an_error(retriever: Retriever, monkeypatch):
    # A question vector FAISS can place nowhere (NaN) and no word shared with the article: no candidate.
    def nan_vectors(texts, *, progress=False):
        return np.full((len(texts), retriever.embedder.dimension), np.nan, dtype=np.float32)

    monkeypatch.setattr(retriever.embedder, "embed", nan_vectors)

    answer = retriever.ask("zxqv")

    assert answer.confidence == "none"
    assert answer.hits == ()


def test_an_answer_carries_passages_with_their_key_sentence(retriever: Retriever):
    answer = retriever.ask(ON_TOPIC)

    assert answer.confidence in {"high", "low"}
    assert answer.hits[0].passage.paragraph == 16
    assert answer.hits[0].passage.text.startswith("Juntos, an immigrant advocacy group")
    for hit in answer.hits:
        assert hit.key_sentence in hit.passage.text
    assert [hit.score for hit in answer.hits] == sorted((hit.score for hit in answer.hits), reverse=True)


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_k_passages_at_most(retriever: Retriever, k: int):
    answer = retriever.ask(ON_TOPIC, k=k)

    assert len(answer.hits) == k
    assert len({hit.passage for hit in answer.hits}) == k


def test_info_describes_the_index_served(retriever: Retriever):
    info = retriever.info

    assert info.titles == ("Philadelphia To Stop Giving ICE Real-Time Arrest Data",)
    assert info.passages == len(retriever.data.passages)
    assert info.model == "fake-hashing"  # the identity without its fingerprint
    assert info.built_at


# --- Reindexing ----------------------------------------------------------------------------------


def test_reindex_without_changes_embeds_nothing(retriever: Retriever, fake_embedder: FakeEmbedder):
    before = fake_embedder.embedded

    stats = retriever.reindex()

    assert stats.embedded == 0 == fake_embedder.embedded - before
    assert stats.reused == len({unit.key for unit in retriever.data.units})


def test_changing_a_one_sentence_paragraph_re_embeds_only_that_passage(
    retriever: Retriever, settings: IndexSettings, fake_embedder: FakeEmbedder
):
    old = "The city said it has not yet received a response."
    new = "The city said it has not yet received any reply."
    before = fake_embedder.embedded

    rewrite(settings, old, new)
    stats = retriever.reindex()

    assert stats.embedded == 1 == fake_embedder.embedded - before
    assert stats.reused == len({unit.key for unit in retriever.data.units}) - 1
    assert new in fake_embedder.batches[-1][0]
    assert [p.text for p in retriever.data.passages if p.paragraph == 14] == [new]


def test_changing_one_sentence_of_a_paragraph_re_embeds_the_passage_and_that_sentence(
    retriever: Retriever, settings: IndexSettings, fake_embedder: FakeEmbedder
):
    [paragraph] = [p.text for p in retriever.data.passages if p.paragraph == 5]
    assert len(split_sentences(paragraph)) == 2
    before = fake_embedder.embedded

    rewrite(settings, "without a judicial warrant", "without a court order")
    stats = retriever.reindex()

    assert stats.embedded == 2 == fake_embedder.embedded - before
    embedded = fake_embedder.batches[-1]
    assert any(text.startswith('As a "sanctuary city,"') and "court order" in text for text in embedded)
    assert any(text.startswith("It won't release inmates") for text in embedded)


def test_reindex_serves_and_saves_the_new_text(retriever: Retriever, settings: IndexSettings):
    rewrite(settings, "Juntos, an immigrant advocacy group", "Juntos, a community organising group")
    assert "advocacy" in retriever.ask(ON_TOPIC).hits[0].passage.text

    retriever.reindex()

    assert retriever.ask(REWRITTEN).hits[0].passage.text.startswith("Juntos, a community organising group")
    assert IndexStore(settings.index_dir).load().passages == retriever.data.passages


def test_a_failed_reindex_leaves_the_old_index_serving(retriever: Retriever, settings: IndexSettings):
    served = retriever.data
    saved = IndexStore(settings.index_dir).load()
    (settings.articles_dir / SHIPPED_ARTICLE.name).unlink()

    with pytest.raises(ArticleError, match="no article files"):
        retriever.reindex()

    assert retriever.data is served
    assert not retriever.reindexing
    assert retriever.ask(ON_TOPIC).hits[0].passage.paragraph == 16
    assert IndexStore(settings.index_dir).load().passages == saved.passages


def test_one_reindex_at_a_time_and_questions_are_answered_meanwhile(
    retriever: Retriever, settings: IndexSettings, monkeypatch: pytest.MonkeyPatch
):
    saving = threading.Event()
    release = threading.Event()
    real_save = IndexStore.save

    def held_save(store: IndexStore, data) -> None:
        saving.set()
        assert release.wait(timeout=30)
        real_save(store, data)

    monkeypatch.setattr(IndexStore, "save", held_save)
    rewrite(settings, "Juntos, an immigrant advocacy group", "Juntos, a community organising group")

    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(retriever.reindex)
        try:
            assert saving.wait(timeout=30)
            assert retriever.reindexing
            with pytest.raises(ReindexRunning):
                retriever.reindex()
            during = retriever.ask(ON_TOPIC)
        finally:
            release.set()
        stats = first.result(timeout=30)

    assert "advocacy" in during.hits[0].passage.text  # answered from the index being replaced
    # the passage and its changed clause ("Juntos, a community organising group,"); the rest is reused
    assert stats.embedded == 2
    assert not retriever.reindexing
    assert retriever.ask(REWRITTEN).hits[0].passage.text.startswith("Juntos, a community organising group")


# -- asking one article -----------------------------------------------------------------------------

AQUARIUM = """Springfield Opens Its New Aquarium

The city aquarium opened on Saturday with a tank of sharks and a coral reef exhibit.

Tickets for the aquarium cost twelve dollars for adults, the director said.
"""


@pytest.fixture
def two_articles(settings: IndexSettings, fake_embedder: FakeEmbedder) -> Retriever:
    from index.startup import open_retriever

    (settings.articles_dir / "aquarium.txt").write_text(AQUARIUM)
    ready, _ = open_retriever(settings, fake_embedder)
    return ready


def sources(answer) -> set[str]:
    return {hit.passage.source for hit in answer.hits}


def test_a_question_to_one_article_is_answered_from_it_alone(two_articles: Retriever):
    shipped = SHIPPED_ARTICLE.name

    assert two_articles.ask("How much do aquarium tickets cost?").hits[0].passage.source == "aquarium.txt"
    assert sources(two_articles.ask("How much do aquarium tickets cost?", article="aquarium.txt")) == {
        "aquarium.txt"
    }
    assert sources(two_articles.ask(ON_TOPIC, article=shipped)) == {shipped}
    # the other article's words are not this article's: not covered, rather than its nearest passages
    elsewhere = two_articles.ask("How much do aquarium tickets cost?", article=shipped)
    assert (elsewhere.confidence, elsewhere.hits) == ("none", ())


def test_every_hit_of_a_scoped_question_is_from_that_article_whatever_is_asked(two_articles: Retriever):
    questions = [ON_TOPIC, "aquarium sharks coral", "What did the mayor decide?", "tickets and ICE"]
    for article in ("aquarium.txt", SHIPPED_ARTICLE.name):
        for answer in two_articles.ask_many(questions, 3, article):
            assert sources(answer) <= {article}


def test_a_question_to_an_article_the_index_does_not_hold_is_refused(two_articles: Retriever):
    with pytest.raises(UnknownArticle, match=r"'gone\.txt'"):
        two_articles.ask("Who?", article="gone.txt")


def test_each_articles_passages_come_from_the_manifests_counts_as_from_the_passages_themselves(
    two_articles: Retriever,
):
    from dataclasses import replace

    from index.retriever import passages_by_article

    data = two_articles.data
    without_counts = replace(
        data,
        manifest=replace(
            data.manifest,
            articles=[{k: v for k, v in a.items() if k != "passages"} for a in data.manifest.articles],
        ),
    )
    fast, read = passages_by_article(data), passages_by_article(without_counts)
    assert sorted(fast) == sorted(read) == sorted(a["source"] for a in data.manifest.articles)
    for source, numbers in fast.items():
        assert numbers.tolist() == read[source].tolist()
        assert {data.passages[n].source for n in numbers} == {source}
