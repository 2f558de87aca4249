"""`bot.run()`: one clear line and exit code 2 for what an operator must fix; SIGTERM stops cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any
from unittest.mock import Mock

import aiohttp
import discord
import pytest

import bot as bot_package
from bot import runner
from bot.bot import ArticleBot, build_bot
from bot.settings import BotSettings
from index.articles import ArticleError
from index.embedding import ModelError
from tests.bot.fakes import FakeRetriever
from tests.conftest import MODEL_CACHE

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


@pytest.mark.slow
@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("EMBEDDING_BACKEND", "gpu", "error: EMBEDDING_BACKEND: 'gpu' is not one of onnx, onnx-int8, torch"),
        ("EMBEDDING_MODEL", "{tmp}", "error: EMBEDDING_MODEL '{tmp}' is not a sentence-transformers model"),
        ("ARTICLES_DIR", "{tmp}/missing", "error: ARTICLES_DIR '{tmp}/missing' does not exist"),
        ("INDEX_DIR", "{tmp}", "error: INDEX_DIR {tmp} holds files the index did not write"),
        ("INDEX_DIR", "{tmp}/notes.txt/index", "error: File exists: {tmp}/notes.txt (check INDEX_DIR, "),
    ],
)
def test_a_bad_index_setting_stops_the_bot_with_one_line(
    variable: str, value: str, says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The real start-up, unmocked (so slow: the ARTICLES_DIR and INDEX_DIR cases load the model)."""
    (tmp_path / "notes.txt").write_text("someone's file")
    env = {"DISCORD_TOKEN": TOKEN, "MODEL_CACHE_DIR": str(MODEL_CACHE), variable: value.format(tmp=tmp_path)}
    assert runner.run(env) == runner.EXIT_CONFIG
    assert stderr_line(capsys).startswith(says.format(tmp=tmp_path))


def test_unusable_index_dir_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    error = NotADirectoryError(20, "Not a directory", "var/index")
    monkeypatch.setattr(runner, "open_retriever", Mock(side_effect=error))
    assert runner.run({"DISCORD_TOKEN": TOKEN}) == runner.EXIT_CONFIG
    assert (
        stderr_line(capsys)
        == "error: Not a directory: var/index (check INDEX_DIR, MODEL_CACHE_DIR and ARTICLES_DIR)"
    )


def test_run_builds_the_bot_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeRetriever()
    monkeypatch.setattr(runner, "open_retriever", Mock(return_value=(fake, None)))
    served: list[tuple[ArticleBot, str]] = []

    async def serve(bot: ArticleBot, token: str) -> int:
        served.append((bot, token))
        return 0

    monkeypatch.setattr(runner, "serve", serve)
    env = {
        "DISCORD_TOKEN": TOKEN,
        "ADMIN_USER_IDS": "42",
        "ARTICLES_DIR": "elsewhere",
        "QUESTION_LOG_DAYS": "0",  # the question log has tests of its own (tests/insights)
    }
    assert runner.run(env) == 0
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

    async def login(token: str) -> None:
        events.append("login")

    async def connect(*, reconnect: bool = True) -> None:
        events.append("connect")
        await closed.wait()  # as discord.py's connect loop runs until the client is closed
        events.append("connect returned")

    original_close = bot.close

    async def close() -> None:
        events.append("close")
        await original_close()
        closed.set()

    monkeypatch.setattr(bot, "login", login)
    monkeypatch.setattr(bot, "connect", connect)
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
    assert events[:3] == ["login", "connect", "close"]
    assert "connect returned" in events
    assert bot.is_closed()
    assert signal.getsignal(signum) == before  # our handler is gone again


async def test_rejected_token_is_one_line_and_not_tried_again(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = build_bot(BotSettings(token=TOKEN), FakeRetriever())  # type: ignore[arg-type]
    attempts = count_logins(bot, monkeypatch)

    async def static_login(token: str) -> Any:
        raise discord.LoginFailure("Improper token has been passed.")

    monkeypatch.setattr(bot.http, "static_login", static_login)
    assert await runner.serve(bot, TOKEN, backoff=[0.01] * 3) == runner.EXIT_CONFIG
    assert stderr_line(capsys) == runner.TOKEN_REJECTED
    assert attempts == [TOKEN]


def count_logins(bot: ArticleBot, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every `bot.login` call (its token), made as usual."""
    calls: list[str] = []
    login = bot.login

    async def counted(token: str) -> None:
        calls.append(token)
        await login(token)

    monkeypatch.setattr(bot, "login", counted)
    return calls


def closed_port() -> int:
    """A port on this machine where nothing listens (bound, then closed): connections are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def unreachable_discord(kind: str) -> str:
    if kind == "refused":
        return f"http://127.0.0.1:{closed_port()}"
    started = time.monotonic()
    with contextlib.suppress(OSError):
        socket.getaddrinfo("nonexistent.invalid", 443)
    if time.monotonic() - started > 2:
        pytest.skip("this machine's resolver is slow to say a name does not exist")
    return "https://nonexistent.invalid"  # .invalid never resolves (RFC 2606)


@pytest.mark.parametrize("kind", ["refused", "no such host"])
async def test_discord_unreachable_is_tried_again_then_one_line_naming_the_url_and_exit_3(
    kind: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = unreachable_discord(kind)
    bot = build_bot(
        BotSettings.from_env({"DISCORD_TOKEN": TOKEN, "DISCORD_API_BASE_URL": url}), FakeRetriever()
    )  # type: ignore[arg-type]
    attempts = count_logins(bot, monkeypatch)
    still_open = record_client_sessions(monkeypatch)

    with caplog.at_level(logging.WARNING, logger="bot.runner"):
        assert await runner.serve(bot, TOKEN, backoff=[0.01, 0.02, 0.01]) == runner.EXIT_UNREACHABLE

    line = stderr_line(capsys)
    assert line.startswith(f"error: could not reach Discord at {url}/api/v10 (")
    assert line.endswith(
        " in 4 attempts; check the network, DNS and firewall, and DISCORD_API_BASE_URL if it is set"
    )
    assert len(attempts) == 4
    retries = [r for r in caplog.records if r.name == "bot.runner"]
    assert [r.levelno for r in retries] == [logging.WARNING] * 3
    assert "login attempt 4 of 4 in" in retries[-1].getMessage()
    assert still_open == [0, 0, 0, 0]  # one HTTP session per attempt, the previous one closed first


def record_client_sessions(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """For each aiohttp session opened from now on: how many opened before it were still open."""
    opened: list[aiohttp.ClientSession] = []
    still_open: list[int] = []
    original_init = aiohttp.ClientSession.__init__

    def recording_init(self: aiohttp.ClientSession, *args: Any, **kwargs: Any) -> None:
        still_open.append(sum(not session.closed for session in opened))
        original_init(self, *args, **kwargs)
        opened.append(self)

    monkeypatch.setattr(aiohttp.ClientSession, "__init__", recording_init)
    return still_open


@needs_main_thread
async def test_a_signal_while_waiting_to_log_in_again_stops_at_once_with_exit_0(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    bot = build_bot(
        BotSettings.from_env({"DISCORD_TOKEN": TOKEN, "DISCORD_API_BASE_URL": url}), FakeRetriever()
    )  # type: ignore[arg-type]
    attempts = count_logins(bot, monkeypatch)
    asyncio.get_running_loop().call_later(0.3, os.kill, os.getpid(), signal.SIGTERM)

    started = time.monotonic()
    assert await asyncio.wait_for(runner.serve(bot, TOKEN, backoff=[60.0]), 10) == runner.EXIT_OK
    assert time.monotonic() - started < 5
    assert attempts == [TOKEN]
    assert capsys.readouterr().err == ""
    assert bot.is_closed()


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


def test_run_opens_the_question_log_for_the_bot(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(runner, "open_retriever", Mock(return_value=(FakeRetriever(), None)))
    logs: list[object] = []

    async def serve(bot: ArticleBot, token: str) -> int:
        logs.append(bot.question_log)
        await bot.question_log.close()
        return 0

    monkeypatch.setattr(runner, "serve", serve)
    database = tmp_path / "log" / "bot.sqlite3"
    env = {"DISCORD_TOKEN": TOKEN, "DATABASE_URL": f"sqlite:///{database}", "QUESTION_LOG_SECRET": "s" * 20}

    assert runner.run(env) == 0

    [log] = logs
    assert type(log).__name__ == "QuestionLog"
    assert database.exists()  # migrated at start


def test_a_question_log_from_a_newer_bot_stops_it_with_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sqlalchemy import create_engine, text

    monkeypatch.setattr(runner, "open_retriever", Mock(return_value=(FakeRetriever(), None)))
    database = tmp_path / "bot.sqlite3"
    engine = create_engine(f"sqlite:///{database}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
        connection.execute(text("INSERT INTO alembic_version VALUES ('9999_from_the_future')"))
    engine.dispose()
    env = {"DISCORD_TOKEN": TOKEN, "DATABASE_URL": f"sqlite:///{database}", "QUESTION_LOG_SECRET": "s" * 20}

    assert runner.run(env) == runner.EXIT_CONFIG

    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("error: ")
    assert "newer version of the bot" in line
