"""Fixtures for end-to-end tests against the local Discord stand-in (see ``stand_in``).

- ``discord_api_spec``: the OpenAPI spec, loaded once per session.
- ``stand_in``: a running ``DiscordStandIn``; at teardown the test fails (an error at teardown)
  if the stand-in saw unexpected routes, invalid bodies or protocol errors.
- ``discord_py_at_stand_in``: the stand-in, with discord.py's REST base and gateway URL pointed
  at it for the test (restored afterwards).
- ``start_client``: ``await start_client(client)`` starts a discord.py client on the stand-in,
  returns once it is ready, and closes it at teardown.
- ``world``: the stand-in's world, ``default_world()``; parametrize ``world`` for another cast.
- ``stand_in_options``: more ``DiscordStandIn`` arguments (none by default); parametrize it for,
  e.g., ``{"shards": 2, "identify_window": 0.05}``.
- ``no_unclosed_client_session`` (autouse): a test that leaves an aiohttp ``ClientSession`` open
  fails at teardown.

The product's bot (``bot.bot.build_bot`` with a real ``Retriever``):

- ``start_article_bot``: ``await start_article_bot(embedder, env={...}, index=settings)`` starts
  it in-process on the stand-in (settings read by ``BotSettings.from_env`` from the stand-in's
  environment plus ``env``; index over a temporary copy of the shipped article, ``settings``)
  and returns it once ready; closed at teardown.
- ``article_bot``: one started with the fake embedder and the stand-in's environment alone.
- Both answer mentions in place (THREAD_REPLIES=false) unless ``env`` says otherwise:
  ``threading_bot`` and ``real_threading_bot`` run the default, a new thread for each mention.
- ``real_article_bot``: one started with the real model (mark the test ``slow``) over a copy of
  the session's real index, so nothing is embedded at start.
- ``bot_errors``: records the product logs at ERROR or above; any left fail the test at
  teardown (a test that provokes errors asserts on them, then clears the list).
- ``start_bot_process``: ``await start_bot_process(env={...})`` runs ``python run_bot.py`` as a
  subprocess against the stand-in (real model, a copy of the session's index) and returns a
  ``BotProcess`` once the bot logged that it is connected; killed at teardown if still running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
import pytest
from stand_in import ApiSpec, DiscordStandIn, World, default_world, load_spec
from stand_in.discord_py import redirect_discord_py

from tests.conftest import MODEL_CACHE, REPO
from tests.fakes import FakeEmbedder

if TYPE_CHECKING:
    from bot.bot import ArticleBot
    from index.embedding import Embedder
    from index.settings import IndexSettings
    from insights.recording import QuestionLog

StartClient = Callable[..., Awaitable[discord.Client]]
StartArticleBot = Callable[..., Awaitable["ArticleBot"]]
StartBotProcess = Callable[..., Awaitable["BotProcess"]]

RUN_BOT = REPO / "run_bot.py"
# The product's own loggers, and discord.py's (which logs errors in event handlers and views).
PRODUCT_LOGGERS = ("bot", "index", "discord")
# Settings a developer's shell may hold that must not leak into a bot process under test.
BOT_VARIABLES = (
    "ADMIN_USER_IDS",
    "ADMIN_ROLE_IDS",
    "ANSWER_CHANNEL_IDS",
    "ASK_COOLDOWN_SECONDS",
    "ARTICLES_DIR",
    "INDEX_DIR",
    "EMBEDDING_MODEL",
    "EMBEDDING_BACKEND",
    "LOG_LEVEL",
)


@pytest.fixture(autouse=True)
def no_unclosed_client_session(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every aiohttp ``ClientSession`` opened in the test's process (discord.py's, a test's own) is
    closed by its end: an open one would only surface as a warning when it is collected, long after
    the test that leaked it. (Held strongly: a leaked session collected early would escape.)"""
    opened: list[aiohttp.ClientSession] = []
    original_init = aiohttp.ClientSession.__init__

    def recording_init(self: aiohttp.ClientSession, *args: object, **kwargs: object) -> None:
        original_init(self, *args, **kwargs)
        opened.append(self)

    monkeypatch.setattr(aiohttp.ClientSession, "__init__", recording_init)
    yield
    left_open = [session for session in opened if not session.closed]
    assert not left_open, f"{len(left_open)} aiohttp ClientSession(s) left open by the test"


@pytest.fixture(scope="session")
def discord_api_spec() -> ApiSpec:
    """The vendored Discord OpenAPI spec with its validators, shared by every test."""
    return load_spec()


@pytest.fixture
def world() -> World:
    """Who and what the stand-in has; ``@pytest.mark.parametrize("world", [...])`` replaces it."""
    return default_world()


@pytest.fixture
def stand_in_options() -> dict[str, Any]:
    """Keyword arguments for ``DiscordStandIn`` besides the world and spec; parametrize to change."""
    return {}


@pytest.fixture
async def stand_in(
    discord_api_spec: ApiSpec, world: World, stand_in_options: dict[str, Any]
) -> AsyncIterator[DiscordStandIn]:
    """A running stand-in; problems it recorded fail the test at teardown."""
    async with DiscordStandIn(world, spec=discord_api_spec, **stand_in_options) as server:
        yield server
    server.assert_clean()


@pytest.fixture
def discord_py_at_stand_in(stand_in: DiscordStandIn) -> Iterator[DiscordStandIn]:
    """The stand-in, with discord.py's ``Route.BASE`` and default gateway pointing at it."""
    with redirect_discord_py(stand_in.api_base_url, stand_in.gateway_url):
        yield stand_in


@pytest.fixture
async def start_client(discord_py_at_stand_in: DiscordStandIn) -> AsyncIterator[StartClient]:
    """``await start_client(client, timeout=5)``: start ``client`` against the stand-in and
    return it once ``is_ready()``; every started client is closed at teardown."""
    running: list[tuple[discord.Client, asyncio.Task[None]]] = []

    async def start(client: discord.Client, *, timeout: float = 5.0) -> discord.Client:  # noqa: ASYNC109
        task = asyncio.create_task(client.start(discord_py_at_stand_in.token))
        running.append((client, task))
        deadline = asyncio.get_running_loop().time() + timeout
        while not client.is_ready():
            if task.done():
                running.remove((client, task))
                await client.close()  # discord.py leaves its HTTP session open after a failed start
                task.result()  # raises what stopped the client
                raise RuntimeError("the client stopped before it was ready")
            if asyncio.get_running_loop().time() > deadline:
                seen = ", ".join(str(r) for r in discord_py_at_stand_in.requests)
                problems = discord_py_at_stand_in.problems()
                raise TimeoutError(
                    f"client not ready within {timeout}s; requests: {seen}; problems: {problems}"
                )
            await asyncio.sleep(0.005)
        return client

    yield start
    for client, task in running:
        await client.close()
        # A client that crashed during the test raises here, failing the test at teardown.
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=5)


# -- the product's bot ----------------------------------------------------------------------------


class _Records(logging.Handler):
    def __init__(self, level: int) -> None:
        super().__init__(level)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def bot_errors() -> Iterator[list[logging.LogRecord]]:
    """What the bot, the index and discord.py log at ERROR or above during the test; anything
    still in the list at teardown fails the test."""
    handler = _Records(logging.ERROR)
    loggers = [logging.getLogger(name) for name in PRODUCT_LOGGERS]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
    logged = "\n  ".join(f"{r.name}: {r.getMessage()}" for r in handler.records)
    assert not handler.records, f"the bot logged errors:\n  {logged}"


# Mentions answered in place, as where the bot can't start threads: most tests check the reply itself
# (no pings, cooldowns, faults); test_bot_threads.py runs the default, answers in new threads.
IN_PLACE = {"THREAD_REPLIES": "false"}


@pytest.fixture
async def start_article_bot(
    stand_in: DiscordStandIn,
    start_client: StartClient,
    settings: IndexSettings,
    bot_errors: list[logging.LogRecord],
) -> AsyncIterator[StartArticleBot]:
    """``await start_article_bot(embedder=None, env=None, index=None, question_log=None)``: the
    product's bot (answering mentions in place unless ``env`` sets THREAD_REPLIES), built
    by ``build_bot`` over a real ``Retriever`` (``embedder`` default: a fresh fake), started on
    the stand-in and returned once ready. ``env`` adds to the stand-in's environment (e.g.
    ``{"ASK_COOLDOWN_SECONDS": "0"}``); ``index`` defaults to ``settings`` (a temporary copy of
    the shipped article, its index built at start)."""
    from bot.bot import build_bot
    from bot.settings import BotSettings
    from index.startup import open_retriever

    started: list[ArticleBot] = []

    async def start(
        embedder: Embedder | None = None,
        *,
        env: Mapping[str, str] | None = None,
        index: IndexSettings | None = None,
        question_log: QuestionLog | None = None,
    ) -> ArticleBot:
        bot_settings = BotSettings.from_env({**stand_in.environment(), **IN_PLACE, **(env or {})})
        retriever, _ = open_retriever(index or settings, embedder or FakeEmbedder())
        bot = build_bot(bot_settings, retriever, guild_ready_timeout=0.05, question_log=question_log)
        started.append(bot)
        await start_client(bot)
        return bot

    yield start
    # Closing unloads the extensions, which drops their modules from sys.modules; put them back so
    # tests that imported them (tests/bot) keep seeing the classes the next bot loads.
    extensions = {name: module for name, module in sys.modules.items() if name.startswith("bot.exts.")}
    for bot in started:
        await bot.close()
    sys.modules.update(extensions)


@pytest.fixture
async def article_bot(start_article_bot: StartArticleBot) -> ArticleBot:
    """The product's bot over the fake embedder, with the stand-in's settings alone."""
    return await start_article_bot()


@pytest.fixture
async def threading_bot(start_article_bot: StartArticleBot) -> ArticleBot:
    """The product's bot with its default THREAD_REPLIES: a mention is answered in a new thread."""
    return await start_article_bot(env={"THREAD_REPLIES": "true"})


@pytest.fixture
def real_article_index(settings: IndexSettings, real_index: IndexSettings) -> IndexSettings:
    """``settings`` with the session's real-model index copied into INDEX_DIR."""
    shutil.copytree(real_index.index_dir, settings.index_dir)
    return settings


@pytest.fixture
async def real_article_bot(
    start_article_bot: StartArticleBot, real_embedder: Embedder, real_article_index: IndexSettings
) -> ArticleBot:
    """The product's bot over the real model (tests using it are ``slow``)."""
    return await start_article_bot(real_embedder, index=real_article_index)


@pytest.fixture
async def real_threading_bot(
    start_article_bot: StartArticleBot, real_embedder: Embedder, real_article_index: IndexSettings
) -> ArticleBot:
    """`real_article_bot` with its default THREAD_REPLIES (tests using it are ``slow``)."""
    return await start_article_bot(real_embedder, index=real_article_index, env={"THREAD_REPLIES": "true"})


@dataclass
class BotProcess:
    """``python run_bot.py`` running against the stand-in; stdout and stderr go to ``log_path``."""

    process: asyncio.subprocess.Process
    log_path: Path

    def log(self) -> str:
        """Everything the process wrote so far."""
        return self.log_path.read_text(errors="replace")

    async def stop(self, signum: int = signal.SIGTERM, *, timeout: float = 15.0) -> int:  # noqa: ASYNC109
        """Send ``signum`` (if it still runs) and return the exit code."""
        if self.process.returncode is None:
            self.process.send_signal(signum)
        return await asyncio.wait_for(self.process.wait(), timeout)


@pytest.fixture
async def start_bot_process(
    stand_in: DiscordStandIn, tmp_path: Path, real_index: IndexSettings
) -> AsyncIterator[StartBotProcess]:
    """``await start_bot_process(env=None, ready_timeout=60, args=(), ready_count=1)``:
    ``python run_bot.py *args`` (``args=["cluster", ...]``: a cluster, ready once ``ready_count``
    processes logged that they are connected) with the
    stand-in's environment, ARTICLES_DIR=data/articles, a copy of the session's real index as
    INDEX_DIR (beside the shared model cache) and LOG_LEVEL=INFO, plus ``env``; returned once it
    logs that it is connected. The stand-in is served by the test's own event loop meanwhile."""
    started: list[BotProcess] = []

    async def start(
        env: Mapping[str, str] | None = None,
        *,
        ready_timeout: float = 60.0,
        args: Sequence[str] = (),
        ready_count: int = 1,
    ) -> BotProcess:
        home = tmp_path / f"bot-process-{len(started)}"
        home.mkdir()
        shutil.copytree(real_index.index_dir, home / "index")
        (home / "models").symlink_to(MODEL_CACHE, target_is_directory=True)
        environment = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith("DISCORD_") and name not in BOT_VARIABLES
        }
        environment.update(
            stand_in.environment(),
            ARTICLES_DIR=str(REPO / "data" / "articles"),
            INDEX_DIR=str(home / "index"),
            MODEL_CACHE_DIR=str(home / "models"),
            # the question log in the test's folder, never the project's var/
            DATABASE_URL=f"sqlite:///{home / 'bot.sqlite3'}",
            QUESTION_LOG_SECRET="e2e-test-secret-of-some-length",
            LOG_LEVEL="INFO",
            PYTHON_DOTENV_DISABLED="1",  # a developer's .env must not change the bot under test
        )
        environment.update(env or {})
        log_path = home / "bot.log"
        with log_path.open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                str(RUN_BOT),
                *args,
                env=environment,
                cwd=home,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )
        running = BotProcess(process, log_path)
        started.append(running)
        deadline = asyncio.get_running_loop().time() + ready_timeout
        while running.log().count("connected as") < ready_count:
            if process.returncode is not None:
                raise RuntimeError(f"run_bot.py exited with {process.returncode}:\n{running.log()}")
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"run_bot.py not connected within {ready_timeout}s:\n{running.log()}")
            await asyncio.sleep(0.05)
        return running

    yield start
    for running in started:
        if running.process.returncode is None:  # SIGTERM first: a cluster stops its processes
            running.process.terminate()
            try:
                await asyncio.wait_for(running.process.wait(), 15)
            except TimeoutError:
                running.process.kill()
                await running.process.wait()
