"""The retriever as the event loop needs it: the same questions and reindex, run in worker threads.

Embedding and search are CPU work that would freeze the gateway connection if run on the loop.
Questions go through `index.batching.AnswerBatcher`: the ones that arrive together are embedded in
one call, one batch at a time in one worker thread. At most `max_pending` questions may wait; past
that the asker is told the bot is busy rather than queued without bound. A reindex runs in its own
thread, so questions keep being answered from the current index while it builds the next.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from index.batching import AnswerBatcher, BatcherStopped
from index.retriever import ReindexRunning

if TYPE_CHECKING:
    from index.answer import Answer
    from index.build import BuildStats
    from index.conversation import Turn
    from index.retriever import IndexInfo, Retriever
    from index.settings import IndexSettings
    from index.store import Manifest

log = logging.getLogger(__name__)

MAX_PENDING = 128  # two full batches of the batcher


class Busy(Exception):
    """Too many questions are waiting; the asker should try again shortly."""


class AsyncRetriever:
    """Awaitable `ask` and `reindex` over a blocking `Retriever`. `close` when done."""

    def __init__(self, retriever: Retriever, *, max_pending: int = MAX_PENDING, k: int = 3) -> None:
        self.retriever = retriever
        self.k = k
        self.max_pending = max_pending
        self._batcher = AnswerBatcher(retriever)
        self._pending = 0
        self._reindexing = False
        self._closed = False

    @property
    def info(self) -> IndexInfo:
        """What the index being served holds (cheap: no thread needed)."""
        return self.retriever.info

    @property
    def settings(self) -> IndexSettings:
        """Where the served index's articles live and how it is built (what `reindex` reads)."""
        return self.retriever.settings

    @property
    def manifest(self) -> Manifest:
        """The manifest of the index being served."""
        return self.retriever.data.manifest

    @property
    def reindexing(self) -> bool:
        """True while a reindex runs, started here or by anyone else holding the retriever."""
        return self._reindexing or self.retriever.reindexing

    async def ask(self, question: str, article: str | None = None, after: Sequence[Turn] = ()) -> Answer:
        """Answer `question` off the event loop (from `article` alone, when given; as the next turn
        after the earlier turns `after`, when given); raises `Busy` when too many are waiting,
        `UnknownArticle` for an article the index doesn't hold."""
        if self._closed:
            raise BatcherStopped("the bot is shutting down")
        if self._pending >= self.max_pending:
            raise Busy
        self._pending += 1
        try:
            if not self._batcher.running:
                await self._batcher.start()  # on the running loop, at the first question
            return await self._batcher.ask(question, self.k, article, after)
        finally:
            self._pending -= 1

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

    async def close(self) -> None:
        """Stop taking questions; a batch already being answered finishes."""
        self._closed = True
        await self._batcher.stop()
