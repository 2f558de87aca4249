"""Keeping this process's index in step with the database's library, which any process may change:
`LibraryWatcher` hears of a change by the NOTIFY every write sends (index.database_library) and, in
case a notification is lost or LISTEN is impossible, by polling the library's revision; `refresh`
rebuilds a `Retriever`'s index from its library in a worker thread and serves it once built;
`watch_library` puts the two together for a process.

The watcher listens on a psycopg connection of its own (autocommit: a notification is delivered
between transactions), reopened with a growing delay when lost; nothing it hears or fails to reach
stops it. The callback is awaited one call at a time; changes meanwhile are delivered once after it,
as the newest revision.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from index.articles import ArticleError
from index.database_library import CHANNEL, DatabaseLibrary
from index.libraries import library_folder
from index.library import LibraryError
from index.retriever import ReindexRunning
from index.store import IndexDirRefused

if TYPE_CHECKING:
    import psycopg

    from index.build import BuildStats
    from index.retriever import Retriever

log = logging.getLogger(__name__)

# Polling is the fallback: a change is seen within this long when no notification comes (well
# within the 5 s a change may take to reach every process, build included, for a small change).
POLL_SECONDS = 2.0
RECONNECT_SECONDS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)  # after each failure in a row; then the last
CONNECT_SECONDS = 5
REINDEX_WAIT_SECONDS = 0.2  # how often `refresh` tries again while another reindex runs

OnChange = Callable[[int], Awaitable[object]]


def conninfo(database_url: str) -> str:
    """DATABASE_URL (SQLAlchemy's spelling, `postgresql+psycopg://…`) as libpq reads it."""
    from sqlalchemy.engine import make_url

    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


class LibraryWatcher:
    """Calls `on_change(revision)` when the library's revision passes the last one delivered: on a
    NOTIFY at once, else within `poll_seconds` (`revision` reads it, blocking: it runs in a thread).
    `seen` is the revision the index was built from (default: the revision when it starts)."""

    def __init__(
        self,
        database_url: str,
        revision: Callable[[], int],
        on_change: OnChange,
        *,
        seen: int | None = None,
        poll_seconds: float = POLL_SECONDS,
        reconnect_seconds: Sequence[float] = RECONNECT_SECONDS,
    ) -> None:
        self._conninfo = conninfo(database_url)
        self._revision = revision
        self._on_change = on_change
        self._latest = self._delivered = seen
        self.poll_seconds = poll_seconds
        self.reconnect_seconds = tuple(reconnect_seconds)
        self.listening = asyncio.Event()  # set while LISTEN is in place
        self._changed = asyncio.Event()
        self._poll_now = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def latest(self) -> int | None:
        """The newest revision heard of (delivered, or to be)."""
        return self._latest

    async def start(self) -> None:
        """Start listening, polling and delivering (on the running loop)."""
        if self._latest is None:
            self._latest = self._delivered = await asyncio.to_thread(self._revision)
        self._tasks = [
            asyncio.create_task(self._listen(), name="library-listen"),
            asyncio.create_task(self._poll(), name="library-poll"),
            asyncio.create_task(self._deliver(), name="library-deliver"),
        ]

    async def stop(self) -> None:
        """Stop; a callback under way is cancelled."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    def _saw(self, revision: int) -> None:
        """The library is at `revision` (or later): deliver it unless it is old news."""
        if self._latest is None or revision > self._latest:
            self._latest = revision
            self._changed.set()

    def _heard(self, payload: str) -> None:
        try:
            self._saw(int(payload))
        except ValueError:  # not a revision: read the revision itself
            log.debug("a notification on %s without a revision (%.40r): polling now", CHANNEL, payload)
            self._poll_now.set()

    async def _listen(self) -> None:
        import psycopg

        failures = 0
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True, connect_timeout=CONNECT_SECONDS
                ) as connection:
                    connection.add_notice_handler(_log_notice)
                    await connection.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    if failures:
                        log.info("listening for changes of the article library again")
                    failures = 0
                    self._poll_now.set()  # what changed while nobody listened
                    async for notification in connection.notifies():
                        self._heard(notification.payload)
            except (OSError, psycopg.Error) as error:
                log.warning(
                    "not listening for changes of the article library (%s); polling every %.0f s, "
                    "listening again in %.1f s",
                    _first_line(error),
                    self.poll_seconds,
                    self._next_delay(failures),
                )
            except Exception:  # a bug here must not stop the watching
                log.exception(
                    "listening for changes of the article library failed; again in %.1f s",
                    self._next_delay(failures),
                )
            finally:
                self.listening.clear()
            delay = self._next_delay(failures)
            failures += 1
            await asyncio.sleep(delay)

    def _next_delay(self, failures: int) -> float:
        return self.reconnect_seconds[min(failures, len(self.reconnect_seconds) - 1)]

    async def _poll(self) -> None:
        failing = False
        while True:
            with contextlib.suppress(TimeoutError):  # time for a poll
                await asyncio.wait_for(self._poll_now.wait(), self.poll_seconds)
            self._poll_now.clear()
            try:
                self._saw(await asyncio.to_thread(self._revision))
            except Exception as error:
                if not failing:  # once per outage, not every few seconds
                    log.warning("could not read the article library's revision: %s", _first_line(error))
                failing = True
            else:
                failing = False

    async def _deliver(self) -> None:
        while True:
            await self._changed.wait()
            self._changed.clear()
            revision = self._latest
            if revision is None or revision == self._delivered:
                continue
            try:
                await self._on_change(revision)
            except Exception:
                log.exception("acting on revision %d of the article library failed", revision)
            self._delivered = revision


async def refresh(retriever: Retriever) -> BuildStats | None:
    """Rebuild `retriever`'s index from its library in a worker thread (reusing the embeddings of
    unchanged text) and serve it once built. A reindex already running is waited for, then this one
    runs (the other may have read the library before the change). A failed build leaves the current
    index serving and is logged; returns None then."""
    while True:
        try:
            stats = await asyncio.to_thread(retriever.reindex)
        except ReindexRunning:
            await asyncio.sleep(REINDEX_WAIT_SECONDS)
            continue
        except (ArticleError, LibraryError, IndexDirRefused, OSError) as error:
            log.warning(
                "the library changed but the index was not rebuilt, the previous one answers: %s", error
            )
            return None
        except Exception:
            log.exception("the library changed but the index was not rebuilt; the previous one answers")
            return None
        log.info("index refreshed from the library: %s", stats.summary())
        return stats


async def watch_library(retriever: Retriever) -> LibraryWatcher | None:
    """Keep `retriever`'s index in step with its library when that is the database's (None
    otherwise): a started watcher that refreshes it after every change since the library's files
    were last written for it. Stop it when done."""
    library = retriever.library
    if not isinstance(library, DatabaseLibrary):
        return None
    seen = library.copied_revision(library_folder(retriever.settings))
    watcher = LibraryWatcher(
        retriever.settings.database_url, library.revision, lambda _revision: refresh(retriever), seen=seen
    )
    await watcher.start()
    return watcher


def _log_notice(notice: psycopg.errors.Diagnostic) -> None:
    log.debug("the database says: %s", notice.message_primary)


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__
