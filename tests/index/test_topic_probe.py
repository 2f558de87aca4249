"""The off-topic probe: a question that matches only because it names the articles' topic ("Who
founded Springfield?") is answered "none" when the rest of it is relevant to no passage. An invented
article, so nothing here depends on the shipped one."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from index.lexical import Bm25
from index.retriever import PROBE_MIN_PASSAGES, Retriever
from index.settings import IndexSettings
from index.startup import open_retriever
from tests.fakes import FakeEmbedder

ARTICLE = """Springfield Library To Close Downtown Branch

Springfield will close its downtown library branch next year, the governor announced Monday.

"We cannot keep the lights on in a building nobody visits," Republican Ann Ortiz said.

The closure saves the state about $2 million a year, budget director Tom Reyes said.

The library's books will move to the main branch on Elm Street.

Readers in Springfield protested outside the library on Tuesday.

The branch opened in 1962 and was renovated in 1998.

Staff at the branch will be offered jobs at other libraries.

The main branch is open seven days a week.

A farewell event for the downtown branch is planned for December.
"""


class SynonymEmbedder(FakeEmbedder):
    """The fake embedder, but reading "accountant" as "budget director": a paraphrase the real model
    would recognise, which word counting can't."""

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        return super().embed([text.replace("accountant", "budget director") for text in texts])


@pytest.fixture
def springfield(tmp_path: Path) -> Retriever:
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "springfield.txt").write_text(ARTICLE)
    settings = IndexSettings(articles_dir=articles, index_dir=tmp_path / "index")
    retriever, _ = open_retriever(settings, SynonymEmbedder())
    return retriever


@pytest.mark.parametrize(
    ("question", "probe"),
    [
        ("Who founded Springfield?", "Who founded"),  # the topic, then words no passage uses
        ("What is Springfield's accountant worried about?", "What is accountant worried about"),
        ("Which year was Springfield renovated?", None),  # passages use most of the rest: evidence enough
        ("How many books does Springfield hold?", "How many books does hold"),  # one word of three
        ("Springfield?", None),  # nothing but the topic: a question about the topic itself
        # two words of the headline that are not names: it restates the story, so it is not probed
        ("What is the downtown library's accountant worried about?", None),
        ("Who founded the downtown branch?", None),
        # one is not enough: titles are made of everyday words too
        ("What is the library's accountant worried about?", "What is the accountant worried about"),
        ("Who founded the library?", "Who founded the"),
        ("How do I bake sourdough bread?", None),  # no topic word: the plain cosine floor decides
        ("", None),
    ],
)
def test_the_probe_is_the_question_without_its_topic_words(springfield: Retriever, question: str, probe):
    assert springfield._index.topic_probe(question) == probe


def test_a_question_matching_only_by_its_topic_words_gets_none(springfield: Retriever):
    answer = springfield.ask("Who founded Springfield?")

    assert answer.confidence == "none"
    assert answer.hits == ()


def test_a_question_whose_first_passage_uses_a_probe_word_is_not_probed(
    springfield: Retriever, monkeypatch: pytest.MonkeyPatch
):
    index = springfield._index
    # every probe that runs fails: only the questions that skip the probe keep their passages
    monkeypatch.setattr(index, "relevance", lambda vectors: np.zeros(len(vectors)))
    question = "Did Springfield readers chant slogans?"
    assert index.topic_probe(question) is not None

    answer = springfield.ask(question)

    # "readers" is in the first passage: evidence enough, no probe
    assert answer.confidence == "low"
    assert "Readers in Springfield protested" in answer.hits[0].passage.text
    assert springfield.ask("Who founded Springfield?").confidence == "none"


def test_a_paraphrase_whose_rest_is_relevant_keeps_its_passages(springfield: Retriever):
    question = "What is Springfield's accountant worried about?"
    assert springfield._index.topic_probe(question) is not None  # the probe does run

    answer = springfield.ask(question)

    assert answer.confidence == "low"
    assert "budget director Tom Reyes" in answer.hits[0].passage.text


def test_a_question_using_the_headline_keeps_its_passages_whatever_a_probe_would_say(
    springfield: Retriever, monkeypatch: pytest.MonkeyPatch
):
    """ "downtown" and "library" are words of the headline, not names: the question restates the
    story, so it keeps its passages even where every probe would fail. (Probed, a question stripped of
    the headline's words, "what kind of people has ICE been arresting using the data" → "what kind of
    people has been using the", scored as not covered.)"""
    monkeypatch.setattr(springfield._index, "relevance", lambda vectors: np.zeros(len(vectors)))

    answer = springfield.ask("What is the downtown library's accountant worried about?")

    assert answer.confidence == "low"
    assert "budget director Tom Reyes" in answer.hits[0].passage.text


def test_a_topic_name_not_learned_as_a_name_still_gets_probed(tmp_path: Path):
    """Written only at the start of sentences, "Springfield" is not learned as a name, so it counts as
    one of the headline's words; one is not enough to skip the probe."""
    articles = tmp_path / "articles"
    articles.mkdir()
    text = ARTICLE.replace("Readers in Springfield protested", "Springfield readers protested")
    (articles / "springfield.txt").write_text(text)
    settings = IndexSettings(articles_dir=articles, index_dir=tmp_path / "index")
    retriever, _ = open_retriever(settings, SynonymEmbedder())
    assert "springfield" not in retriever._index._aliases.names

    assert retriever.ask("Who founded Springfield?").confidence == "none"


def test_a_clipped_name_of_the_topic_counts_as_the_topic(springfield: Retriever):
    assert springfield._index.topic_probe("Who founded Springf?") == "Who founded"


def test_a_short_article_is_not_probed(tmp_path: Path):
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "short.txt").write_text("\n\n".join(ARTICLE.split("\n\n")[:4]))
    settings = IndexSettings(articles_dir=articles, index_dir=tmp_path / "index")
    retriever, _ = open_retriever(settings, SynonymEmbedder())

    # three passages: every word would be "the topic", and every question probed down to nothing
    assert retriever._index.passage_count < PROBE_MIN_PASSAGES
    assert retriever._index.topic_probe("Who founded Springfield?") is None


def test_common_terms_are_those_in_at_least_a_share_of_documents():
    bm25 = Bm25(["the city said", "the city mayor", "a mayor spoke", "rain fell"])

    assert bm25.document_frequency("citi") == 2  # stemmed, as tokenize gives terms
    assert bm25.document_frequency("snow") == 0
    assert bm25.common_terms(0.5) == {"citi", "mayor"}
    assert bm25.common_terms(0.25) == {"citi", "mayor", "said", "spoke", "rain", "fell"}
    assert bm25.common_terms(0.25, at_least=2) == {"citi", "mayor"}
