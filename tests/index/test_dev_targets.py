"""The real model and the shipped scorer on the shipped article (slow)."""

from __future__ import annotations

import pytest

from index.aliases import LibraryAliases
from index.build import model_text
from index.embedding import Embedder
from index.evaluation import load_questions, score
from index.passages import fit_to_window
from index.retriever import Retriever
from index.settings import IndexSettings
from index.startup import open_retriever
from tests.conftest import DEV_QUESTIONS

pytestmark = pytest.mark.slow


# Questions about nothing the shipped article touches: the shipped scorer must say "not covered".
# (How often it does on questions that share the article's words is measured by the benchmark:
# tests/index/test_benchmark_floors.py.)
CLEARLY_OFF_TOPIC = [
    "What is the capital of France?",
    "How do I bake sourdough bread?",
    "Who won the 2018 World Cup?",
    "Recommend me a good sci-fi movie",
    "How tall is Mount Everest?",
    "What is the best programming language for beginners?",
]


@pytest.fixture(scope="module")
def real_retriever(real_index: IndexSettings, real_embedder: Embedder) -> Retriever:
    retriever, stats = open_retriever(real_index, real_embedder)
    assert stats is None  # served from disk, as built by the session fixture
    return retriever


def test_the_dev_questions_are_answered_from_the_shipped_scorer(real_retriever: Retriever):
    """Not a quality floor (dev questions are not held out): every answerable dev question gets
    passages, and most put a right one in the top three."""
    questions = load_questions(DEV_QUESTIONS)

    report = score(questions, real_retriever.ask_many([q.question for q in questions], 3))

    assert report.answerable == 40
    assert report.false_abstention <= 0.05, report.misses
    assert report.recall_at_3 >= 0.8, report.misses


@pytest.mark.parametrize("question", CLEARLY_OFF_TOPIC)
def test_a_clearly_off_topic_question_gets_none(real_retriever: Retriever, question: str):
    answer = real_retriever.ask(question)

    assert answer.confidence == "none"
    assert answer.hits == ()


def test_every_passage_fits_the_model_window_even_a_giant_word(real_embedder: Embedder):
    giant = "".join(chr(ord("a") + (i * 7) % 26) for i in range(5000))
    long_sentence = " ".join(["arrest records and immigration enforcement"] * 200)
    paragraph = f"The file contained {giant} and nothing else. {long_sentence}."
    window = real_embedder.max_tokens

    pieces = fit_to_window(paragraph, window, real_embedder.count_tokens)

    assert len(pieces) > 2
    assert max(real_embedder.count_tokens(piece) for piece in pieces) <= window
    assert "".join(" ".join(pieces).split()) == "".join(paragraph.split())


def test_the_shipped_article_passages_fit_the_model_window(
    real_retriever: Retriever, real_embedder: Embedder
):
    data = real_retriever.data
    aliases = LibraryAliases.from_manifest(data.manifest.aliases)
    # what the model reads of each passage: its text with aliases spelled out
    counts = [real_embedder.count_tokens(model_text(p.text, p, aliases)) for p in data.passages]

    assert max(counts) <= real_embedder.max_tokens
    assert len(real_retriever.data.passages) == 17  # 16 paragraphs and the caption: none needed splitting
