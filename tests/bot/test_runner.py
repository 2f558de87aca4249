"""`bot.run()`: one clear line and exit code 2 for what an operator must fix; SIGTERM stops cleanly."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import time
from typing import Any
from unittest.mock import Mock

import discord
import pytest

import bot as bot_package
from bot import runner
from bot.bot import ArticleBot, build_bot
from bot.settings import BotSettings
from index.articles import ArticleError
from index.embedding import ModelError
from tests.bot.fakes import FakeRetriever

TOKEN = "MTIz.secret.token-value"


def stderr_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert TOKEN not in captured.err
    assert "Traceback" not in captured.err
    return lines[0]


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"DISCORD_TOKEN": ""}, "DISCORD_TOKEN"),
        ({"DISCORD_TOKEN": TOKEN, "DISCORD_GUILD_IDS": "general"}, "DISCORD_GUILD_IDS"),
        ({"DISCORD_TOKEN": TOKEN, "ADMIN_USER_IDS": "me"}, "ADMIN_USER_IDS"),
        ({"DISCORD_TOKEN": TOKEN, "ASK_COOLDOWN_SECONDS": "-3"}, "ASK_COOLDOWN_SECONDS"),
        ({"DISCORD_TOKEN": TOKEN, "DISCORD_API_BASE_URL": "localhost"}, "DISCORD_API_BASE_URL"),
        ({"DISCORD_TOKEN": f"Bot {TOKEN}"}, "DISCORD_TOKEN"),
    ],
)
def test_bad_setting_is_one_line_naming_the_variable(
    env: dict[str, str], variable: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "open_retriever", Mock(side_effect=AssertionError("must not be reached")))
    assert runner.run(env) == runner.EXIT_CONFIG
    assert stderr_line(capsys).startswith(f"error: {variable}")


@pytest.mark.parametrize(
    "error",
    [
        ArticleError("ARTICLES_DIR 'nowhere' does not exist"),
        ModelError("EMBEDDING_MODEL '/x' is not a model"),
    ],
)
def test_unusable_articles_or_model_is_one_line(
    error: Exception, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "open_retriever", Mock(side_effect=error))
    assert runner.run({"DISCORD_TOKEN": TOKEN}) == runner.EXIT_CONFIG
    assert stderr_line(capsys) == f"error: {error}"


def test_unusable_index_dir_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    error = NotADirectoryError(20, "Not a directory", "var/index")
    monkeypatch.setattr(runner, "open_retriever", Mock(side_effect=error))
    assert runner.run({"DISCORD_TOKEN": TOKEN}) == runner.EXIT_CONFIG
    assert stderr_line(capsys) == "error: Not a directory: var/index (check INDEX_DIR and ARTICLES_DIR)"


def test_run_builds_the_bot_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeRetriever()
    monkeypatch.setattr(runner, "open_retriever", Mock(return_value=(fake, None)))
    served: list[tuple[ArticleBot, str]] = []

    async def serve(bot: ArticleBot, token: str) -> int:
        served.append((bot, token))
        return 0

    monkeypatch.setattr(runner, "serve", serve)
    assert runner.run({"DISCORD_TOKEN": TOKEN, "ADMIN_USER_IDS": "42", "ARTICLES_DIR": "elsewhere"}) == 0
    [(bot, token)] = served
    assert token == TOKEN
    assert bot.settings.admin_user_ids == {42}
    assert bot.retriever.retriever is fake
    [settings], _ = runner.open_retriever.call_args  # type: ignore[attr-defined]
    assert str(settings.articles_dir) == "elsewhere"


def bot_that_connects_forever(monkeypatch: pytest.MonkeyPatch) -> tuple[ArticleBot, list[str]]:
    bot = build_bot(BotSettings(token=TOKEN), FakeRetriever())  # type: ignore[arg-type]
    events: list[str] = []

    closed = asyncio.Event()

    async def start(token: str, *, reconnect: bool = True) -> None:
        events.append("start")
        await closed.wait()  # as discord.py's connect loop runs until the client is closed
        events.append("start returned")

    original_close = bot.close

    async def close() -> None:
        events.append("close")
        await original_close()
        closed.set()

    monkeypatch.setattr(bot, "start", start)
    monkeypatch.setattr(bot, "close", close)
    return bot, events


needs_main_thread = pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(), reason="signals need the main thread"
)


@needs_main_thread
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_signal_closes_the_bot_and_exits_0(monkeypatch: pytest.MonkeyPatch, signum: int) -> None:
    bot, events = bot_that_connects_forever(monkeypatch)
    before = signal.getsignal(signum)
    asyncio.get_running_loop().call_later(0.1, os.kill, os.getpid(), signum)
    assert await asyncio.wait_for(runner.serve(bot, TOKEN), 5) == runner.EXIT_OK
    assert events[:2] == ["start", "close"]
    assert "start returned" in events
    assert bot.is_closed()
    assert signal.getsignal(signum) == before  # our handler is gone again


async def test_rejected_token_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = build_bot(BotSettings(token=TOKEN), FakeRetriever())  # type: ignore[arg-type]

    async def start(token: str, *, reconnect: bool = True) -> Any:
        raise discord.LoginFailure("Improper token has been passed.")

    monkeypatch.setattr(bot, "start", start)
    assert await runner.serve(bot, TOKEN) == runner.EXIT_CONFIG
    assert stderr_line(capsys) == runner.TOKEN_REJECTED


@needs_main_thread
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_while_the_index_opens_stops_with_exit_0(
    signum: int, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def open_retriever(settings: object) -> None:
        os.kill(os.getpid(), signum)
        time.sleep(5)  # the signal interrupts this
        raise AssertionError("the signal did not stop the start-up")

    monkeypatch.setattr(runner, "open_retriever", open_retriever)
    before = [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)]
    with caplog.at_level(logging.INFO, logger="bot"):
        assert bot_package.run({"DISCORD_TOKEN": TOKEN}) == runner.EXIT_OK
    assert f"stopping: {signal.Signals(signum).name} before the bot was connected" in caplog.messages
    assert [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)] == before
