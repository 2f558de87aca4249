"""The bot as a process: read the settings, open the retriever, run until SIGINT or SIGTERM.

Exit codes: 0 after a clean stop; 2 when a setting, the articles, the model, INDEX_DIR or the token
is wrong (one line on stderr naming what to fix, never the token itself).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Mapping

import discord

from bot.bot import ArticleBot, build_bot
from bot.settings import BotSettings, SettingsError
from index.articles import ArticleError
from index.embedding import ModelError
from index.startup import open_retriever
from index.store import IndexDirRefused

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_CONFIG = 2
CLOSE_TIMEOUT_SECONDS = 10.0
TOKEN_REJECTED = (
    "error: Discord rejected DISCORD_TOKEN; reset the token in the Developer Portal (Bot → Reset Token) "
    "and put the new one in .env"
)


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
    except (ArticleError, ModelError, IndexDirRefused) as error:
        return _fail(f"error: {error}")
    except OSError as error:  # INDEX_DIR under a file, read-only, no space...
        where = f": {error.filename}" if error.filename else ""
        return _fail(f"error: {error.strerror or error}{where} (check INDEX_DIR and ARTICLES_DIR)")
    return asyncio.run(serve(build_bot(settings, retriever), settings.token.get_secret_value()))


async def serve(bot: ArticleBot, token: str) -> int:
    """Keep `bot` connected until SIGINT or SIGTERM, then close it; returns the exit code."""
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
            running = asyncio.create_task(bot.start(token), name="discord-connection")
            stopping = asyncio.create_task(stop.wait(), name="stop-signal")
            await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if running.done():
                running.result()  # a login or gateway failure surfaces here
                return EXIT_OK
            log.info("stopping: closing the Discord connection")
            await bot.close()
            await _finish(running)
            return EXIT_OK
    except discord.LoginFailure:
        return _fail(TOKEN_REJECTED)
    except discord.PrivilegedIntentsRequired:
        return _fail("error: Discord refused an intent the bot asked for; see docs/discord-setup.md")
    finally:
        for signum, handler in previous.items():
            loop.remove_signal_handler(signum)
            if handler is not None:
                signal.signal(signum, handler)  # e.g. asyncio.run's own Ctrl-C handling


async def _finish(running: asyncio.Task[None]) -> None:
    """Let the connection task end after `close`; whatever it raises on the way out is moot."""
    done, _ = await asyncio.wait({running}, timeout=CLOSE_TIMEOUT_SECONDS)
    if not done:
        running.cancel()
    elif not running.cancelled() and running.exception() is not None:
        log.debug("the connection ended with %r while closing", running.exception())
