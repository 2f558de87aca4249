"""The retriever as the event loop needs it: the same questions and reindex, run in worker threads.

Embedding and search are CPU work that would freeze the gateway connection if run on the loop. At
most `workers` questions run at once and at most `max_waiting` wait for a turn; past that the asker
is told the bot is busy rather than queued without bound. A reindex runs in its own thread, outside
those turns, so questions keep being answered from the current index while it builds the next.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from index.retriever import ReindexRunning

if TYPE_CHECKING:
    from index.answer import Answer
    from index.build import BuildStats
    from index.retriever import IndexInfo, Retriever

log = logging.getLogger(__name__)

WORKERS = 2  # the model already uses several cores per question; more threads only queue on them
MAX_WAITING = 64


class Busy(Exception):
    """Too many questions are waiting for a worker; the asker should try again shortly."""


class AsyncRetriever:
    """Awaitable `ask` and `reindex` over a blocking `Retriever`."""

    def __init__(
        self, retriever: Retriever, *, workers: int = WORKERS, max_waiting: int = MAX_WAITING, k: int = 3
    ) -> None:
        self.retriever = retriever
        self.k = k
        self._turns = asyncio.Semaphore(workers)
        self._max_pending = workers + max_waiting
        self._pending = 0
        self._reindexing = False

    @property
    def info(self) -> IndexInfo:
        """What the index being served holds (cheap: no thread needed)."""
        return self.retriever.info

    @property
    def reindexing(self) -> bool:
        """True while a reindex runs, started here or by anyone else holding the retriever."""
        return self._reindexing or self.retriever.reindexing

    async def ask(self, question: str) -> Answer:
        """Answer `question` in a worker thread; raises `Busy` when too many are waiting."""
        if self._pending >= self._max_pending:
            raise Busy
        self._pending += 1
        try:
            await self._turns.acquire()
            # The turn is given back when the thread finishes, not when this coroutine stops
            # waiting: a cancelled ask must not let more threads run than there are turns.
            work = asyncio.ensure_future(asyncio.to_thread(self.retriever.ask, question, self.k))
            work.add_done_callback(self._finished)
            return await asyncio.shield(work)
        finally:
            self._pending -= 1

    def _finished(self, work: asyncio.Future[Answer]) -> None:
        self._turns.release()
        if not work.cancelled() and work.exception() is not None:
            log.debug("a question failed in its worker thread", exc_info=work.exception())

    async def reindex(self) -> BuildStats:
        """Rebuild from ARTICLES_DIR in a thread; the new index answers as soon as it is ready.

        One at a time: raises `ReindexRunning` at once if one is under way. On failure the error
        propagates and the current index keeps answering.
        """
        if self.reindexing:
            raise ReindexRunning("a reindex is already running")
        self._reindexing = True
        try:
            return await asyncio.to_thread(self.retriever.reindex)
        finally:
            self._reindexing = False
