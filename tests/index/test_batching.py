"""The answer batcher: each caller gets its own answer, questions asked together share a batch,
errors reach every caller of the failed batch, and the event loop never waits on the model."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence

import pytest

from index.answer import Answer
from index.batching import AnswerBatcher, BatcherStopped
from index.retriever import Retriever

ON_TOPIC = "What does Juntos, the immigrant advocacy group, say?"
QUESTIONS = [
    ON_TOPIC,
    "Who is the city solicitor?",
    "How many people did ICE arrest?",
    "What did the mayor say about sanctuary cities?",
]


async def test_each_caller_gets_the_answer_to_its_own_question(retriever: Retriever):
    expected = {q: retriever.ask(q, 2) for q in QUESTIONS}
    async with AnswerBatcher(retriever) as batcher:
        answers = await asyncio.gather(*(batcher.ask(q, 2) for q in QUESTIONS * 8))
    for question, answer in zip(QUESTIONS * 8, answers, strict=True):
        assert answer.question == question
        assert [hit.passage for hit in answer.hits] == [hit.passage for hit in expected[question].hits]


async def test_questions_asked_together_are_embedded_in_one_batch(retriever: Retriever, fake_embedder):
    fake_embedder.batches.clear()
    async with AnswerBatcher(retriever, max_batch=64, max_wait=0.05) as batcher:
        await asyncio.gather(*(batcher.ask(f"{q} ({n})") for n, q in enumerate(QUESTIONS * 5)))
        assert batcher.batches == 1
    [questions] = fake_embedder.batches
    assert len(questions) == 20


async def test_a_batch_never_exceeds_max_batch(retriever: Retriever, fake_embedder):
    fake_embedder.batches.clear()
    async with AnswerBatcher(retriever, max_batch=3, max_wait=0.01) as batcher:
        answers = await asyncio.gather(*(batcher.ask(q) for q in QUESTIONS * 3))
    assert len(answers) == 12
    assert max(len(batch) for batch in fake_embedder.batches) <= 3


async def test_different_k_in_one_batch_are_answered_with_their_own_k(retriever: Retriever):
    async with AnswerBatcher(retriever, max_wait=0.05) as batcher:
        one, five = await asyncio.gather(batcher.ask(ON_TOPIC, 1), batcher.ask(ON_TOPIC, 5))
    assert len(one.hits) == 1
    assert len(five.hits) == 5


class FailingRetriever:
    """Stands in for a Retriever whose model fails."""

    def ask_many(
        self, questions: Sequence[str], k: int = 3, article: str | None = None, after=None
    ) -> list[Answer]:
        raise RuntimeError("model exploded")


async def test_an_error_reaches_every_caller_of_the_batch():
    async with AnswerBatcher(FailingRetriever(), max_wait=0.05) as batcher:  # type: ignore[arg-type]
        results = await asyncio.gather(*(batcher.ask(q) for q in QUESTIONS), return_exceptions=True)
        assert all(isinstance(result, RuntimeError) for result in results)
        # and the batcher keeps serving afterwards
        with pytest.raises(RuntimeError, match="exploded"):
            await batcher.ask("again?")


class OneBadQuestion:
    """A retriever that fails any batch holding the question "poison", like one question that
    trips an error in scoring, and answers the others."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def ask_many(
        self, questions: Sequence[str], k: int = 3, article: str | None = None, after=None
    ) -> list[Answer]:
        self.batches.append(list(questions))
        if "poison" in questions:
            raise ValueError("scoring failed on one question")
        return [Answer(question, "none", ()) for question in questions]


async def test_one_failing_question_fails_only_its_own_caller():
    retriever = OneBadQuestion()
    async with AnswerBatcher(retriever, max_wait=0.05) as batcher:  # type: ignore[arg-type]
        asked = ["first", "poison", "third"]
        results = await asyncio.gather(*(batcher.ask(q) for q in asked), return_exceptions=True)

    assert isinstance(results[1], ValueError)
    assert [results[0].question, results[2].question] == ["first", "third"]
    assert retriever.batches[0] == asked  # tried together first, then each alone
    assert sorted(map(tuple, retriever.batches[1:])) == [("first",), ("poison",), ("third",)]


class RecordingRetriever:
    """Answers at once and records each call: its questions, k and article."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], int, str | None]] = []

    def ask_many(
        self, questions: Sequence[str], k: int = 3, article: str | None = None, after=None
    ) -> list[Answer]:
        self.calls.append((list(questions), k, article))
        return [Answer(question, "none", ()) for question in questions]


async def test_questions_to_different_articles_are_answered_in_separate_calls():
    retriever = RecordingRetriever()
    async with AnswerBatcher(retriever, max_wait=0.05) as batcher:  # type: ignore[arg-type]
        asked = [("a", None), ("b", "x.txt"), ("c", None), ("d", "x.txt"), ("e", "y.txt")]
        answers = await asyncio.gather(*(batcher.ask(q, 3, article) for q, article in asked))

    assert [answer.question for answer in answers] == ["a", "b", "c", "d", "e"]
    # each question answered once, in a call for its own article
    assert sorted(q for questions, _, _ in retriever.calls for q in questions) == ["a", "b", "c", "d", "e"]
    for questions, _, article in retriever.calls:
        assert all(dict(asked)[q] == article for q in questions)
    assert (["b", "d"], 3, "x.txt") in retriever.calls  # one batch per article when they arrive together


class SlowRetriever:
    """Blocks its thread for a while, like a model under load."""

    def __init__(self) -> None:
        self.started = threading.Event()

    def ask_many(
        self, questions: Sequence[str], k: int = 3, article: str | None = None, after=None
    ) -> list[Answer]:
        self.started.set()
        time.sleep(0.3)
        return [Answer(question=q, confidence="none", hits=()) for q in questions]


async def test_the_event_loop_keeps_running_while_a_batch_is_answered():
    slow = SlowRetriever()
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async with AnswerBatcher(slow) as batcher:  # type: ignore[arg-type]
        ticker = asyncio.create_task(tick())
        answer = await batcher.ask("anything")
        ticker.cancel()
    assert answer.question == "anything"
    assert ticks >= 10  # the loop ticked all through the 0.3 s answer


async def test_asking_a_batcher_that_is_not_running_says_so(retriever: Retriever):
    batcher = AnswerBatcher(retriever)
    with pytest.raises(BatcherStopped, match="start"):
        await batcher.ask("hello?")
    await batcher.start()
    await batcher.stop()
    with pytest.raises(BatcherStopped):
        await batcher.ask("hello?")


async def test_stopping_finishes_the_running_batch_and_fails_the_waiting_ones():
    slow = SlowRetriever()
    batcher = AnswerBatcher(slow, max_batch=1, max_wait=0)  # type: ignore[arg-type]
    await batcher.start()
    first = asyncio.create_task(batcher.ask("first"))
    await asyncio.to_thread(slow.started.wait, 5)
    second = asyncio.create_task(batcher.ask("second"))
    await asyncio.sleep(0)
    await batcher.stop()
    assert (await first).question == "first"
    with pytest.raises(BatcherStopped):
        await second


async def test_a_cancelled_asker_does_not_disturb_the_others(retriever: Retriever):
    async with AnswerBatcher(retriever, max_wait=0.05) as batcher:
        cancelled = asyncio.create_task(batcher.ask(QUESTIONS[0]))
        kept = asyncio.create_task(batcher.ask(QUESTIONS[1]))
        await asyncio.sleep(0)
        cancelled.cancel()
        assert (await kept).question == QUESTIONS[1]
    assert cancelled.cancelled()
