"""The retriever on the event loop: worker threads, a cap on waiting work, one reindex at a time,
and questions answered from the current index while a reindex builds the next."""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import Sequence

import pytest

from bot.async_retriever import AsyncRetriever, Busy
from index.answer import Answer
from index.articles import ArticleError
from index.batching import BatcherStopped
from index.retriever import ReindexRunning, Retriever
from tests.bot.fakes import FakeRetriever


async def wait_for(event: threading.Event) -> None:
    assert await asyncio.to_thread(event.wait, 5), "timed out"


def test_fake_retriever_matches_the_real_interface() -> None:
    for name in ("ask", "ask_many", "reindex"):
        assert inspect.signature(getattr(FakeRetriever, name)) == inspect.signature(getattr(Retriever, name))
    for name in ("reindexing", "info"):
        assert isinstance(getattr(Retriever, name), property)


async def test_ask_runs_off_the_event_loop() -> None:
    loop_thread = threading.get_ident()
    threads: list[int] = []

    class Recording(FakeRetriever):
        def ask_many(
            self, questions: Sequence[str], k: int = 3, article: str | None = None, after=None
        ) -> list[Answer]:
            threads.append(threading.get_ident())
            time.sleep(0.05)  # blocking work: the loop must stay free meanwhile
            return super().ask_many(questions, k, article, after)

    retriever = AsyncRetriever(Recording())
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    ticker = asyncio.create_task(tick())
    answer = await retriever.ask("when?")
    ticker.cancel()
    await retriever.close()
    assert answer.question == "when?"
    assert threads
    assert loop_thread not in threads
    assert ticks >= 3


async def test_questions_asked_together_share_one_worker_thread() -> None:
    running = 0
    peak = 0
    batches: list[int] = []
    lock = threading.Lock()

    class Counting(FakeRetriever):
        def ask_many(
            self, questions: Sequence[str], k: int = 3, article: str | None = None, after=None
        ) -> list[Answer]:
            nonlocal running, peak
            with lock:
                running += 1
                peak = max(peak, running)
                batches.append(len(questions))
            time.sleep(0.02)
            with lock:
                running -= 1
            return super().ask_many(questions, k, article, after)

    retriever = AsyncRetriever(Counting())
    answers = await asyncio.gather(*(retriever.ask(f"q{n}") for n in range(20)))
    await retriever.close()
    assert [a.question for a in answers] == [f"q{n}" for n in range(20)]  # each gets its own
    assert peak == 1  # one batch at a time: a flood can't start a thread per question
    assert sum(batches) == 20
    assert len(batches) < 20


async def test_a_flood_beyond_the_queue_is_told_busy() -> None:
    fake = FakeRetriever()
    fake.ask_delay.clear()  # every batch blocks until released
    retriever = AsyncRetriever(fake, max_pending=3)
    waiting = [asyncio.create_task(retriever.ask(f"q{n}")) for n in range(3)]
    await asyncio.sleep(0.05)
    with pytest.raises(Busy):
        await retriever.ask("one too many")
    fake.ask_delay.set()
    assert len(await asyncio.gather(*waiting)) == 3
    assert (await retriever.ask("room again")).question == "room again"
    await retriever.close()


async def test_closed_retriever_takes_no_more_questions() -> None:
    retriever = AsyncRetriever(FakeRetriever())
    await retriever.ask("before")
    await retriever.close()
    with pytest.raises(BatcherStopped):
        await retriever.ask("after")


async def test_reindex_is_single_flight_and_questions_keep_being_answered() -> None:
    fake = FakeRetriever()
    fake.hold_reindex()
    retriever = AsyncRetriever(fake)
    first = asyncio.create_task(retriever.reindex())
    await wait_for(fake.reindex_started)
    assert retriever.reindexing

    with pytest.raises(ReindexRunning):
        await retriever.reindex()  # refused at once, no second thread
    during = await asyncio.wait_for(retriever.ask("during"), 2)
    assert during.hits[0].key_sentence == "old"  # answered from the current index

    fake.reindex_release.set()
    stats = await first
    assert stats.passages == 42
    assert not retriever.reindexing
    after = await retriever.ask("after")
    assert after.hits[0].key_sentence == "new"  # swapped in as soon as it was ready
    await retriever.close()


async def test_failed_reindex_leaves_the_old_index_serving() -> None:
    fake = FakeRetriever()
    fake.reindex_error = ArticleError("ARTICLES_DIR 'nowhere' does not exist")
    retriever = AsyncRetriever(fake)
    with pytest.raises(ArticleError, match="does not exist"):
        await retriever.reindex()
    assert not retriever.reindexing
    assert (await retriever.ask("still?")).hits[0].key_sentence == "old"
    fake.reindex_error = None
    await retriever.reindex()  # and the next one may run
    assert (await retriever.ask("now?")).hits[0].key_sentence == "new"
    await retriever.close()


async def test_reindex_started_elsewhere_counts_as_running() -> None:
    fake = FakeRetriever()
    fake.hold_reindex()
    elsewhere = threading.Thread(target=fake.reindex)
    elsewhere.start()
    await wait_for(fake.reindex_started)
    retriever = AsyncRetriever(fake)
    assert retriever.reindexing
    with pytest.raises(ReindexRunning):
        await retriever.reindex()
    fake.reindex_release.set()
    elsewhere.join(5)
