"""`Retriever.ask_many` scores a whole batch together; each question must still get the answer `ask`
gives it alone (the same passages, key sentences and confidence; scores equal to float tolerance).

Candidates that tie to float precision (near-duplicate passages, as in bench.corpus) can still come
out in either order, as the model's own float noise between batched and lone embeddings could order
them before."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.answer import Answer
from index.embedding import Embedder
from index.evaluation import load_questions
from index.features import _zscores
from index.retriever import Retriever, normalize_question
from index.settings import IndexSettings
from index.startup import open_retriever
from tests.conftest import DEV_QUESTIONS
from tests.fakes import FakeEmbedder

EDGE_CASES = [
    "",
    "sourdough bread baking tips",
    "What is the capital of France?",
    "ICE",
    "Why did the mayor end the contract with the agency? " * 20,
    "Who is Marcel Pratt?",
]


def assert_answered_alike(batched: Answer, alone: Answer) -> None:
    assert (batched.question, batched.confidence, batched.notice) == (
        alone.question,
        alone.confidence,
        alone.notice,
    )
    assert [(hit.passage, hit.key_sentence) for hit in batched.hits] == [
        (hit.passage, hit.key_sentence) for hit in alone.hits
    ]
    assert [hit.score for hit in batched.hits] == pytest.approx([hit.score for hit in alone.hits], abs=1e-4)


def test_ask_many_answers_in_order_like_ask_does(retriever: Retriever, fake_embedder: FakeEmbedder):
    questions = [*EDGE_CASES, "What does Juntos, the immigrant advocacy group, say?"]
    before = len(fake_embedder.batches)

    answers = retriever.ask_many(questions, k=2)

    assert len(fake_embedder.batches) == before + 1  # one embedding call for the batch
    assert [answer.question for answer in answers] == [normalize_question(q)[0] for q in questions]
    for question, answer in zip(questions, answers, strict=True):
        assert_answered_alike(answer, retriever.ask(question, k=2))


def test_a_batch_scored_in_small_groups_answers_alike(retriever: Retriever, monkeypatch: pytest.MonkeyPatch):
    questions = [q.question for q in load_questions(DEV_QUESTIONS)]
    together = retriever.ask_many(questions, k=5)

    # the groups a large index would need: here, one question per group
    monkeypatch.setattr("index.retriever.UNIT_SCORES_PER_GROUP", 1)
    grouped = retriever.ask_many(questions, k=5)

    for batched, alone in zip(grouped, together, strict=True):
        assert_answered_alike(batched, alone)


@pytest.fixture(scope="module")
def real_retriever(real_index: IndexSettings, real_embedder: Embedder) -> Retriever:
    retriever, _ = open_retriever(real_index, real_embedder)
    return retriever


@pytest.mark.slow
@pytest.mark.parametrize("k", [1, 3])
def test_with_the_real_model_a_batch_answers_each_question_as_if_alone(real_retriever: Retriever, k: int):
    questions = [
        q.question
        for path in sorted(Path(DEV_QUESTIONS).parent.glob("*.jsonl"))
        for q in load_questions(path)
    ]
    questions += EDGE_CASES

    answers = real_retriever.ask_many(questions, k)

    for question, answer in zip(questions, answers, strict=True):
        assert_answered_alike(answer, real_retriever.ask(question, k))


def test_equal_scores_are_not_spread_by_rounding_in_any_batch_layout():
    # 276 candidates with the same BM25 score, as on the synthetic 5,000-passage corpus: z-scores of
    # 0, not ±1 from float32 rounding that depended on which other questions shared the batch
    values = np.full((2, 400), 7.1193323, dtype=np.float32)
    mask = np.zeros((2, 400), dtype=bool)
    mask[0, :276] = True
    mask[1, ::3] = True

    assert not _zscores(values, mask).any()
