"""Micro-batching for questions that arrive together: one batched embedding call for all of them.

One embedding call for many questions costs less per question than a call each (larger matrix
products, one thread hop; measured in docs/benchmarks.md), so under load the `AnswerBatcher` gathers
what arrives within a few milliseconds, answers the batch with `Retriever.ask_many` in a worker
thread, and hands each waiting caller its own answer (or the error).
While the bot is busy a batch stays open `max_wait` seconds for company; on an idle bot a lone
question is answered at once.

    batcher = AnswerBatcher(retriever)
    await batcher.start()
    answer = await batcher.ask("Who was arrested?", k=3)
    await batcher.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from index.answer import Answer
    from index.conversation import Turn
    from index.retriever import Retriever

log = logging.getLogger(__name__)

MAX_BATCH = 64
MAX_WAIT = 0.002  # seconds a batch stays open for more questions after its first one arrives


class BatcherStopped(Exception):
    """`ask` was called on a batcher that is not running (not started, or stopped)."""


@dataclass(frozen=True)
class _Request:
    question: str
    k: int
    article: str | None
    after: tuple[Turn, ...]  # the conversation's earlier turns, oldest first
    future: asyncio.Future[Answer]


class AnswerBatcher:
    """Answers questions from the event loop in micro-batches, never blocking the loop.

    Batches run one at a time (the model uses every core for one batch); while one runs, the next
    fills up, so under load batches grow towards `max_batch` on their own.
    """

    def __init__(
        self, retriever: Retriever, *, max_batch: int = MAX_BATCH, max_wait: float = MAX_WAIT
    ) -> None:
        if max_batch < 1 or max_wait < 0:
            raise ValueError("max_batch must be at least 1 and max_wait at least 0")
        self.retriever = retriever
        self.max_batch = max_batch
        self.max_wait = max_wait
        self._queue: asyncio.Queue[_Request] | None = None
        self._worker: asyncio.Task[None] | None = None
        self.batches = 0  # how many batches were answered (for the benchmark and tests)
        self._last_batch = 0

    @property
    def running(self) -> bool:
        return self._worker is not None and not self._worker.done()

    async def start(self) -> None:
        """Start taking questions (call from the running event loop)."""
        if self.running:
            return
        self._queue = asyncio.Queue()
        self._worker = asyncio.create_task(self._serve(), name="answer-batcher")

    async def stop(self) -> None:
        """Stop: a batch already in its thread finishes and delivers; questions still waiting get
        `BatcherStopped`."""
        worker, queue = self._worker, self._queue
        self._worker = None
        if worker is None or queue is None:
            return
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker
        while not queue.empty():
            _fail(queue.get_nowait(), BatcherStopped("the answer batcher was stopped"))

    async def __aenter__(self) -> AnswerBatcher:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    async def ask(
        self, question: str, k: int = 3, article: str | None = None, after: Sequence[Turn] = ()
    ) -> Answer:
        """Answer `question` with up to `k` passages (from `article` alone, when given; as the next
        turn after the earlier turns `after`, when given); raises what answering raised."""
        if not self.running or self._queue is None:
            raise BatcherStopped("the answer batcher is not running (call start() first)")
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Request(question, k, article, tuple(after), future))
        return await future

    async def _serve(self) -> None:
        assert self._queue is not None
        queue = self._queue
        while True:
            batch = [await queue.get()]
            try:
                # Under load (the last batch had company) hold the batch open briefly so questions
                # arriving together share it; a lone question on an idle bot goes at once.
                if self._last_batch > 1 and queue.qsize() < self.max_batch - 1:
                    await asyncio.sleep(self.max_wait)
                while len(batch) < self.max_batch and not queue.empty():
                    batch.append(queue.get_nowait())
                self._last_batch = len(batch)
                await self._answer([request for request in batch if not request.future.done()])
            except asyncio.CancelledError:
                for request in batch:
                    _fail(request, BatcherStopped("the answer batcher was stopped"))
                raise

    async def _answer(self, batch: list[_Request]) -> None:
        # ask_many takes one k and one article per call: group by both (in practice every caller
        # uses the same k, and most ask every article).
        for k, article in dict.fromkeys((request.k, request.article) for request in batch):
            group = [request for request in batch if (request.k, request.article) == (k, article)]
            questions = [request.question for request in group]
            after = [request.after for request in group]
            work = asyncio.ensure_future(
                asyncio.to_thread(self.retriever.ask_many, questions, k, article, after)
            )
            try:
                await asyncio.shield(work)
            except asyncio.CancelledError:
                await asyncio.wait([work])  # a thread can't be cancelled: let it finish and deliver
                self._deliver(group, work)
                raise
            except Exception:
                log.debug("a batch of %d question(s) failed", len(group), exc_info=True)
                if len(group) > 1:  # one bad question must not fail its neighbours: ask each alone
                    for request in group:
                        await self._answer([request])
                    continue
            self._deliver(group, work)

    def _deliver(self, group: list[_Request], work: asyncio.Future[list[Answer]]) -> None:
        error = work.exception()
        if error is None:
            self.batches += 1
        for number, request in enumerate(group):
            if error is not None:
                _fail(request, error)
            elif not request.future.done():
                request.future.set_result(work.result()[number])


def _fail(request: _Request, error: BaseException) -> None:
    if not request.future.done():
        request.future.set_exception(error)
