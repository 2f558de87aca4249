"""Every process in step with the database's library: the watcher hears of another connection's
change by NOTIFY (by polling when it can't listen, again after losing its connection), delivers a
burst once, and survives what it hears; a refresh serves the new index only once it is built, and a
failed one leaves the previous index answering. Arrival is awaited within generous timeouts, never
timed tightly."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, delete, text

from index.database_library import DatabaseLibrary
from index.library_tables import articles
from index.library_watch import LibraryWatcher, conninfo, refresh, watch_library
from index.retriever import Retriever
from index.settings import IndexSettings
from index.startup import open_retriever
from tests.conftest import SHIPPED_ARTICLE
from tests.databases import free_port
from tests.fakes import FakeEmbedder
from tests.index.test_library import BRIDGE, BRIDGE_TITLE

pytestmark = pytest.mark.postgres

ARRIVAL_SECONDS = 30.0  # generous: the product's promise is 5 s, a loaded test machine may be slower
NEVER = 3600.0  # a poll interval that never comes within a test
BRIDGE_QUESTION = "When will the harbor bridge close for repairs?"


class Calls:
    """The revisions a watcher delivered, awaitable."""

    def __init__(self) -> None:
        self.revisions: list[int] = []
        self._arrived = asyncio.Event()

    async def __call__(self, revision: int) -> None:
        self.revisions.append(revision)
        self._arrived.set()

    async def until(self, revision: int) -> None:
        """Wait until `revision` (or a later one) was delivered."""
        async with asyncio.timeout(ARRIVAL_SECONDS):
            while not self.revisions or self.revisions[-1] < revision:
                self._arrived.clear()
                await self._arrived.wait()


class CountedRevision:
    """`library.revision`, counting its calls (a poll), with an event per call."""

    def __init__(self, library: DatabaseLibrary) -> None:
        self.library = library
        self.calls = 0
        self.called = threading.Event()

    def __call__(self) -> int:
        revision = self.library.revision()
        self.calls += 1
        self.called.set()
        return revision


@pytest.fixture
def url(library_engine: Engine) -> str:
    """The database's URL, password included (as DATABASE_URL gives it)."""
    return library_engine.url.render_as_string(hide_password=False)


@pytest.fixture
def other(library_engine: Engine) -> Iterator[DatabaseLibrary]:
    """The same library as another process sees it: its own engine."""
    library = DatabaseLibrary(create_engine(library_engine.url))
    yield library
    library.engine.dispose()


@pytest.fixture
def bridge_file(tmp_path: Path) -> Path:
    path = tmp_path / "downloads" / "bridge.txt"
    path.parent.mkdir()
    path.write_text(BRIDGE)
    return path


async def eventually(condition: Callable[[], bool]) -> None:
    """Wait until `condition()` holds (read every 20 ms: it may depend on another connection)."""
    async with asyncio.timeout(ARRIVAL_SECONDS):
        while not condition():  # noqa: ASYNC110  # nothing to wait on but the state itself
            await asyncio.sleep(0.02)


async def started(watcher: LibraryWatcher, revision: CountedRevision | None = None) -> LibraryWatcher:
    """`watcher` started, listening, and (given its counted `revision`, and `seen`) done with the
    poll it makes once listening."""
    await watcher.start()
    async with asyncio.timeout(ARRIVAL_SECONDS):
        await watcher.listening.wait()
    if revision is not None:
        await asyncio.to_thread(revision.called.wait, ARRIVAL_SECONDS)
    return watcher


async def test_another_connections_add_is_heard_by_notify(
    database_library: DatabaseLibrary, other: DatabaseLibrary, bridge_file: Path, url: str
):
    calls = Calls()
    revision = CountedRevision(database_library)
    seen = database_library.revision()
    watcher = LibraryWatcher(url, revision, calls, seen=seen, poll_seconds=NEVER)
    await started(watcher, revision)
    polls = revision.calls
    try:
        began = time.perf_counter()
        await asyncio.to_thread(other.add_file, bridge_file)
        await calls.until(other.revision())
        took = time.perf_counter() - began
    finally:
        await watcher.stop()

    logging.getLogger(__name__).info("NOTIFY to callback: %.3f s", took)
    assert calls.revisions == [other.revision()]
    assert revision.calls == polls  # heard, not polled


async def test_without_listen_polling_sees_the_change(
    database_library: DatabaseLibrary,
    other: DatabaseLibrary,
    bridge_file: Path,
    caplog: pytest.LogCaptureFixture,
):
    unreachable = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere"
    calls = Calls()
    watcher = LibraryWatcher(
        unreachable, database_library.revision, calls, poll_seconds=0.1, reconnect_seconds=[0.2]
    )
    await watcher.start()
    try:
        await asyncio.to_thread(other.add_file, bridge_file)
        await calls.until(other.revision())
    finally:
        await watcher.stop()

    assert not watcher.listening.is_set()
    assert calls.revisions == [other.revision()]
    assert "not listening for changes of the article library" in caplog.text


async def test_a_lost_connection_is_reopened_and_heard_again(
    database_library: DatabaseLibrary, other: DatabaseLibrary, bridge_file: Path, url: str
):
    calls = Calls()
    revision = CountedRevision(database_library)
    seen = database_library.revision()
    watcher = LibraryWatcher(url, revision, calls, seen=seen, poll_seconds=NEVER, reconnect_seconds=[0.1])
    await started(watcher, revision)
    listener = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'"
    try:
        with other.engine.begin() as connection:
            first = connection.execute(text(listener)).scalar_one()
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})

        def listening_anew() -> bool:
            with other.engine.connect() as connection:
                pids = connection.execute(text(listener)).scalars().all()
            return bool(pids) and first not in pids and watcher.listening.is_set()

        await eventually(listening_anew)
        await asyncio.to_thread(other.add_file, bridge_file)
        await calls.until(other.revision())
    finally:
        await watcher.stop()

    assert calls.revisions == [other.revision()]


async def test_a_burst_is_delivered_once_after_the_callback_under_way(
    database_library: DatabaseLibrary, other: DatabaseLibrary, bridge_file: Path, url: str
):
    delivered: list[int] = []
    entered, release = asyncio.Event(), asyncio.Event()

    async def slow(revision: int) -> None:
        delivered.append(revision)
        entered.set()
        await release.wait()

    watcher = await started(LibraryWatcher(url, database_library.revision, slow, poll_seconds=NEVER))
    try:
        await asyncio.to_thread(other.add_file, bridge_file)
        async with asyncio.timeout(ARRIVAL_SECONDS):
            await entered.wait()
        for _ in range(3):
            await asyncio.to_thread(other.add_file, bridge_file)
        final = other.revision()
        await eventually(lambda: watcher.latest == final)
        release.set()
        await eventually(lambda: delivered[-1] == final)
        await asyncio.sleep(0.2)  # room for a wrong extra call to show
    finally:
        await watcher.stop()

    assert len(delivered) == 2
    assert delivered[0] < final


async def test_a_failing_callback_and_a_stray_notification_stop_nothing(
    database_library: DatabaseLibrary, other: DatabaseLibrary, bridge_file: Path, url: str
):
    delivered: list[int] = []

    async def fails_first(revision: int) -> None:
        delivered.append(revision)
        if len(delivered) == 1:
            raise RuntimeError("refresh failed")

    watcher = await started(LibraryWatcher(url, database_library.revision, fails_first, poll_seconds=NEVER))
    try:
        with other.engine.begin() as connection:
            connection.execute(text("SELECT pg_notify('article_library', 'not a number')"))
        await asyncio.to_thread(other.add_file, bridge_file)
        await eventually(lambda: len(delivered) == 1)
        await asyncio.to_thread(other.add_file, bridge_file)
        await eventually(lambda: len(delivered) == 2)
    finally:
        await watcher.stop()

    assert delivered == [other.revision() - 1, other.revision()]


def test_the_watcher_connects_as_libpq_reads_the_url():
    url = "postgresql+psycopg://bot:s3cret@db.example:5433/news?sslmode=require"

    assert conninfo(url) == "postgresql://bot:s3cret@db.example:5433/news?sslmode=require"


# --- refreshing an index from the library


def settings_of(settings: IndexSettings, name: str) -> IndexSettings:
    """The settings of one process: INDEX_DIR its own."""
    return settings.model_copy(update={"index_dir": settings.index_dir.parent / name})


async def test_a_refresh_serves_the_added_article_embedding_only_it(
    database_library: DatabaseLibrary, other: DatabaseLibrary, settings: IndexSettings, bridge_file: Path
):
    embedder = FakeEmbedder()
    retriever, _ = open_retriever(settings, embedder, library=database_library)
    assert retriever.ask(BRIDGE_QUESTION).confidence == "none"
    await asyncio.to_thread(other.add_file, bridge_file)
    batches = len(embedder.batches)

    stats = await refresh(retriever)

    assert stats is not None
    assert (stats.articles, stats.reused > 0) == (2, True)
    embedded = [text for batch in embedder.batches[batches:] for text in batch]
    assert embedded  # the new article's text, and nothing else
    assert all(text in BRIDGE for text in embedded)
    assert retriever.ask(BRIDGE_QUESTION).hits[0].passage.article == BRIDGE_TITLE


async def test_a_failed_build_leaves_the_previous_index_answering(
    database_library: DatabaseLibrary, settings: IndexSettings, caplog: pytest.LogCaptureFixture
):
    retriever, _ = open_retriever(settings, FakeEmbedder(), library=database_library)
    served = retriever.data
    with database_library.engine.begin() as connection:  # nothing left to build from
        connection.execute(delete(articles))
        connection.execute(text("UPDATE library SET revision = revision + 1"))

    stats = await refresh(retriever)

    assert stats is None
    assert retriever.data is served
    assert retriever.info.titles == (served.manifest.articles[0]["title"],)
    assert "the library changed but the index was not rebuilt" in caplog.text
    assert "the article library has no articles; add one" in caplog.text


async def test_a_crashing_build_leaves_the_previous_index_answering(
    database_library: DatabaseLibrary,
    other: DatabaseLibrary,
    settings: IndexSettings,
    bridge_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
):
    retriever, _ = open_retriever(settings, FakeEmbedder(), library=database_library)
    served = retriever.data
    other.add_file(bridge_file)

    def crash(*_args: object) -> None:
        raise RuntimeError("a bug halfway through the build")

    monkeypatch.setattr("index.retriever.rebuild", crash)

    assert await refresh(retriever) is None
    assert retriever.data is served
    assert BRIDGE_TITLE not in retriever.info.titles
    assert "RuntimeError: a bug halfway through the build" in caplog.text  # with its traceback
    assert not retriever.reindexing


async def test_a_refresh_waits_for_a_reindex_under_way_then_runs(
    database_library: DatabaseLibrary, settings: IndexSettings
):
    retriever, _ = open_retriever(settings, FakeEmbedder(), library=database_library)
    retriever._reindexing.acquire()  # another reindex, under way
    waiting = asyncio.create_task(refresh(retriever))
    await asyncio.sleep(0.5)
    assert not waiting.done()

    retriever._reindexing.release()
    async with asyncio.timeout(ARRIVAL_SECONDS):
        stats = await waiting

    assert stats is not None


async def test_a_change_made_by_one_process_is_answered_by_another(
    library_engine: Engine, articles_dir: Path, settings: IndexSettings, bridge_file: Path, url: str
):
    writer = DatabaseLibrary(library_engine)
    writer.seed(articles_dir)
    reader = DatabaseLibrary(create_engine(library_engine.url))
    reading = settings_of(settings, "reader").model_copy(update={"database_url": url})
    retriever, _ = open_retriever(reading, FakeEmbedder(), library=reader)
    watcher = await watch_library(retriever)
    assert watcher is not None
    try:
        async with asyncio.timeout(ARRIVAL_SECONDS):
            await watcher.listening.wait()
        began = time.perf_counter()
        await asyncio.to_thread(writer.add_file, bridge_file)
        await eventually(lambda: BRIDGE_TITLE in retriever.info.titles)
        took = time.perf_counter() - began
    finally:
        await watcher.stop()
        reader.engine.dispose()

    logging.getLogger(__name__).info("add in one process to answerable in another: %.2f s", took)
    assert retriever.ask(BRIDGE_QUESTION).hits[0].passage.article == BRIDGE_TITLE
    assert SHIPPED_ARTICLE.name in {article.source for article in retriever.info.articles}


async def test_a_change_while_the_index_was_built_is_caught_up_at_once(
    database_library: DatabaseLibrary,
    other: DatabaseLibrary,
    settings: IndexSettings,
    bridge_file: Path,
    url: str,
):
    retriever, _ = open_retriever(
        settings.model_copy(update={"database_url": url}), FakeEmbedder(), library=database_library
    )
    other.add_file(bridge_file)  # after the build read the library, before anyone listened

    watcher = await watch_library(retriever)
    assert watcher is not None
    try:
        await eventually(lambda: BRIDGE_TITLE in retriever.info.titles)
    finally:
        await watcher.stop()


async def test_a_folder_library_needs_no_watching(retriever: Retriever):
    assert await watch_library(retriever) is None
