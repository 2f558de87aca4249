"""The bot as a process: read the settings, open the retriever, run until SIGINT or SIGTERM.

Exit codes: 0 after a clean stop; 2 when a setting, the articles, the model, INDEX_DIR or the token
is wrong (one line on stderr naming what to fix, never the token itself); 3 when Discord could not
be reached to log in, after retrying (one line naming the URL: the network, DNS, a firewall or
DISCORD_API_BASE_URL — perhaps passing, so a supervisor may start the bot again).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import aiohttp
import discord
from discord.http import Route

from bot.bot import ArticleBot, build_bot
from bot.settings import BotSettings, SettingsError
from database.engine import DatabaseError
from index.articles import ArticleError
from index.embedding import ModelError
from index.library import LibraryError
from index.startup import open_retriever
from index.store import IndexDirRefused

if TYPE_CHECKING:
    from index.retriever import Retriever

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_CONFIG = 2
EXIT_UNREACHABLE = 3
CLOSE_TIMEOUT_SECONDS = 10.0
# Seconds before each new login attempt (each taken at random between half and all of it): six
# attempts within half a minute ride out a network or Discord blip; longer outages are the
# supervisor's to retry (exit 3).
LOGIN_BACKOFF = (1.0, 2.0, 4.0, 8.0, 16.0)
# What a login can meet that says nothing about the settings: no route, no DNS answer, a refused or
# dropped connection, a timeout, Discord's servers failing (discord.py itself retries 500/502/504).
NETWORK_ERRORS = (OSError, aiohttp.ClientConnectionError, discord.DiscordServerError)
TOKEN_REJECTED = (
    "error: Discord rejected DISCORD_TOKEN; reset the token in the Developer Portal (Bot → Reset Token) "
    "and put the new one in .env"
)


class DiscordUnreachable(Exception):
    """Every login attempt failed on the network or on Discord's servers."""

    def __init__(self, url: str, attempts: int, error: BaseException) -> None:
        super().__init__(
            f"could not reach Discord at {url} ({_one_line(error)}) in {attempts} attempts; "
            "check the network, DNS and firewall, and DISCORD_API_BASE_URL if it is set"
        )


def _one_line(error: BaseException) -> str:
    """What went wrong, on one short line (a server's error page can be long)."""
    return " ".join(str(error).split())[:200] or type(error).__name__


def _fail(message: str) -> int:
    print(message, file=sys.stderr)
    return EXIT_CONFIG


def run(env: Mapping[str, str] | None = None) -> int:
    """Run the Discord bot from the environment's settings; returns the exit code."""
    env = os.environ if env is None else env
    try:
        settings = BotSettings.from_env(env)
    except SettingsError as error:
        return _fail(f"error: {error}")
    try:
        retriever, _ = open_retriever(settings)  # a build is logged by index.build
    except (ArticleError, DatabaseError, LibraryError, ModelError, IndexDirRefused) as error:
        return _fail(f"error: {error}")
    except OSError as error:  # INDEX_DIR under a file, read-only, no space...
        where = f": {error.filename}" if error.filename else ""
        check = "check INDEX_DIR, MODEL_CACHE_DIR and ARTICLES_DIR"
        return _fail(f"error: {error.strerror or error}{where} ({check})")
    return asyncio.run(_serve_with_log(settings, retriever))


async def _serve_with_log(settings: BotSettings, retriever: Retriever) -> int:
    """Open the question log (QUESTION_LOG_DAYS, DATABASE_URL) on the bot's event loop and, when the
    articles live in PostgreSQL, watch them (every change by any process is indexed here within
    seconds); then serve."""
    from database.engine import NewerSchemaError
    from index.library_watch import watch_library
    from insights.identity import KeyFileError
    from insights.recording import open_question_log

    try:
        question_log = await open_question_log(settings)
    except (NewerSchemaError, KeyFileError) as error:
        return _fail(f"error: {error}")
    bot = build_bot(settings, retriever, question_log=question_log)
    watcher = await watch_library(retriever)
    try:
        return await serve(bot, settings.token.get_secret_value())
    finally:
        if watcher is not None:
            await watcher.stop()


async def serve(bot: ArticleBot, token: str, *, backoff: Sequence[float] = LOGIN_BACKOFF) -> int:
    """Log `bot` in (network errors retried after each delay of `backoff`), keep it connected
    until SIGINT or SIGTERM, then close it; returns the exit code."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    previous = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(signum)
        try:
            loop.add_signal_handler(signum, stop.set)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no such signal
            continue
        previous[signum] = handler
    try:
        async with bot:
            stopping = asyncio.create_task(stop.wait(), name="stop-signal")
            try:
                logging_in = asyncio.create_task(log_in(bot, token, backoff), name="discord-login")
                if await _stopped_first(logging_in, stopping):
                    logging_in.cancel()  # mid-request or waiting to try again: nothing to close gently
                    return await _close(bot, logging_in)
                logging_in.result()  # a rejected token, or Discord unreachable
                running = asyncio.create_task(bot.connect(reconnect=True), name="discord-connection")
                if await _stopped_first(running, stopping):
                    return await _close(bot, running)
                running.result()  # a gateway failure discord.py does not retry surfaces here
                return EXIT_OK
            finally:
                stopping.cancel()
    except discord.LoginFailure:
        return _fail(TOKEN_REJECTED)
    except discord.PrivilegedIntentsRequired:
        return _fail("error: Discord refused an intent the bot asked for; see docs/discord-setup.md")
    except DiscordUnreachable as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_UNREACHABLE
    finally:
        for signum, handler in previous.items():
            loop.remove_signal_handler(signum)
            if handler is not None:
                signal.signal(signum, handler)  # e.g. asyncio.run's own Ctrl-C handling


async def log_in(bot: ArticleBot, token: str, backoff: Sequence[float] = LOGIN_BACKOFF) -> None:
    """`bot.login(token)`, tried again after each delay of `backoff` while the network or Discord's
    servers fail; raises DiscordUnreachable after the last attempt (a rejected token at once)."""
    attempts = len(backoff) + 1
    for attempt in range(1, attempts + 1):
        try:
            await bot.login(token)
            return
        except NETWORK_ERRORS as error:
            if bot.is_closed():  # stopping: closing the session failed the request
                raise
            if attempt == attempts:
                raise DiscordUnreachable(Route.BASE, attempts, error) from error
            await _discard_http_session(bot)
            wait = backoff[attempt - 1] * random.uniform(0.5, 1.0)  # bots restarted together spread out
            log.warning(
                "could not reach Discord at %s (%s); login attempt %d of %d in %.1f s",
                Route.BASE,
                _one_line(error),
                attempt + 1,
                attempts,
                wait,
            )
            await asyncio.sleep(wait)


async def _discard_http_session(bot: ArticleBot) -> None:
    """Close the HTTP session a failed login opened: the next login opens its own, and this one
    would be left open. Closing it closes its connector too, so the next login needs a new one."""
    await bot.http.close()
    bot.http.connector = discord.utils.MISSING


async def _stopped_first(task: asyncio.Task[None], stopping: asyncio.Task[bool]) -> bool:
    """Wait for `task` or a stop signal; True if the signal came first."""
    await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    return not task.done()


async def _close(bot: ArticleBot, task: asyncio.Task[None]) -> int:
    log.info("stopping: closing the Discord connection")
    await bot.close()
    await _finish(task)
    return EXIT_OK


async def _finish(running: asyncio.Task[None]) -> None:
    """Let the connection task end after `close`; whatever it raises on the way out is moot."""
    done, _ = await asyncio.wait({running}, timeout=CLOSE_TIMEOUT_SECONDS)
    if not done:
        running.cancel()
    elif not running.cancelled() and running.exception() is not None:
        log.debug("the connection ended with %r while closing", running.exception())
