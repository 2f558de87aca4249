"""The token never leaves the bot except to authenticate: `python run_bot.py` runs with a sentinel
DISCORD_TOKEN at LOG_LEVEL=DEBUG, errors are provoked (a failing command, a reply Discord
refuses, a dropped gateway, bad settings, a rejected token) and it is shut down; then everything
it printed and every request body and gateway frame the stand-in recorded is searched for the
sentinel. Only the Authorization header and the IDENTIFY/RESUME frames may carry it.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import pytest
from stand_in import ApiSpec, DiscordStandIn, Fault, World, unknown_interaction
from traffic import MESSAGES

from bot.runner import TOKEN_REJECTED
from index.settings import IndexSettings
from tests.conftest import MODEL_CACHE, REPO

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(120)]

SENTINEL = "MTIwMDAwMDAwMDAwMDAwMDAwMQ.SeNtInEl.Zq8vX2mK9pL4tR7wB3nY6cJ1hQ5s"
OTHER = "MTIwMDAwMDAwMDAwMDAwMDAwMQ.0tHeRsEn.Wd4gF7kP2xS9vB6mN1qT8rZ3yC5h"
IDENTIFY, RESUME = 2, 6


def secret_parts(token: str) -> list[str]:
    """Every run of 8 characters of the token's secret segments (the first segment is only the
    bot's id in base64): a leak of part of the token is a leak too."""
    secret = token.split(".", 1)[1]
    return [secret[start : start + 8] for start in range(len(secret) - 7)]


def leaks(text: str, token: str = SENTINEL) -> list[str]:
    return [part for part in secret_parts(token) if part in text]


@pytest.fixture
async def stand_in(discord_api_spec: ApiSpec, world: World) -> AsyncIterator[DiscordStandIn]:
    """The stand-in, expecting the sentinel as the bot's token."""
    async with DiscordStandIn(world, spec=discord_api_spec, token=SENTINEL) as server:
        yield server
    server.assert_clean()


async def test_the_token_is_in_no_log_traceback_reply_or_frame_after_errors_and_a_shutdown(
    stand_in: DiscordStandIn, start_bot_process
) -> None:
    bot = await start_bot_process(env={"LOG_LEVEL": "DEBUG", "ASK_COOLDOWN_SECONDS": "0"})
    mention = f"<@{stand_in.world.bot.id}>"

    stand_in.inject(unknown_interaction(times=2))  # a command whose answer and apology both fail
    failed = await stand_in.slash_command("ask", {"question": "When does the contract expire?"})
    await stand_in.wait_until(lambda: not stand_in.faults.remaining(), timeout=10, what="the failures")
    missing_access = {"message": "Missing Access", "code": 50001}
    stand_in.inject(Fault("POST", MESSAGES, 403, missing_access, times=2))  # reply and apology refused
    await stand_in.post_message("rita", f"{mention} who is the mayor?")
    await stand_in.wait_until(lambda: not stand_in.faults.remaining(), timeout=10, what="the refusals")
    await stand_in.close_gateway(4000)
    await stand_in.wait_for_resume(timeout=10)
    answered = await stand_in.slash_command("ask", {"question": "Who is the mayor?"}, user="ned")
    await stand_in.wait_for_answer(answered, timeout=10)
    reindexed = await stand_in.slash_command("reindex", user="adam")
    await stand_in.wait_for_answer(reindexed, timeout=30)
    assert await bot.stop(signal.SIGTERM) == 0

    log = bot.log()
    assert "Traceback" in log  # the errors were logged with their tracebacks...
    assert f"error in ask (interaction {failed.id})" in log
    assert "unhandled error in on_message" in log
    assert leaks(log) == []  # ...and none of it holds the token
    for request in stand_in.requests:
        assert leaks(json.dumps(request.body, ensure_ascii=False)) == [], request
        assert leaks(request.path + json.dumps(request.query)) == [], request
        others = {name: value for name, value in request.headers.items() if name.lower() != "authorization"}
        assert leaks(json.dumps(others)) == [], request
        assert request.headers.get("Authorization") in (f"Bot {SENTINEL}", None)  # None: webhooks
    frames = stand_in.gateway.received
    assert {frame.data["token"] for frame in frames if frame.op in (IDENTIFY, RESUME)} == {SENTINEL}
    assert [
        frame for frame in frames if frame.op not in (IDENTIFY, RESUME) and leaks(json.dumps(frame.data))
    ] == []


async def run_to_exit(env: Mapping[str, str], home: Path, *, timeout: float = 60) -> tuple[int, str]:  # noqa: ASYNC109
    """`python run_bot.py` with only `env` as its settings; its exit code and everything it printed."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("DISCORD_")}
    for name in (
        "ADMIN_USER_IDS",
        "ADMIN_ROLE_IDS",
        "ANSWER_CHANNEL_IDS",
        "ASK_COOLDOWN_SECONDS",
        "LOG_LEVEL",
    ):
        environment.pop(name, None)
    environment.update(
        ARTICLES_DIR=str(REPO / "data" / "articles"),
        INDEX_DIR=str(home / "index"),
        MODEL_CACHE_DIR=str(home / "models"),
        DATABASE_URL=f"sqlite:///{home / 'bot.sqlite3'}",
        QUESTION_LOG_SECRET="e2e-test-secret-of-some-length",
        PYTHON_DOTENV_DISABLED="1",
        LOG_LEVEL="DEBUG",
        **env,
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(REPO / "run_bot.py"),
        env=environment,
        cwd=home,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout)
    return process.returncode, output.decode(errors="replace")


@pytest.mark.parametrize(
    ("token", "env", "says"),
    [
        (
            SENTINEL,
            {"DISCORD_GUILD_IDS": "general"},
            "error: DISCORD_GUILD_IDS: 'general' is not a Discord id",
        ),
        (f"Bot {SENTINEL}", {}, "error: DISCORD_TOKEN: starts with 'Bot '; give the token alone"),
        (
            f"{SENTINEL[:30]} {SENTINEL[30:]}",
            {},
            "error: DISCORD_TOKEN: contains spaces or unusual characters",
        ),
    ],
    ids=["bad-guild-ids", "bot-prefix", "space-inside"],
)
async def test_a_bad_setting_stops_the_bot_with_one_line_that_does_not_quote_the_token(
    tmp_path: Path, token: str, env: dict[str, str], says: str
) -> None:
    code, output = await run_to_exit({"DISCORD_TOKEN": token, **env}, tmp_path)

    assert code == 2
    assert output.strip().splitlines() == [output.strip()]
    assert output.startswith(says)
    assert leaks(output) == []


async def test_a_token_discord_rejects_stops_the_bot_with_one_line_that_does_not_quote_it(
    stand_in: DiscordStandIn, tmp_path: Path, real_index: IndexSettings
) -> None:
    shutil.copytree(real_index.index_dir, tmp_path / "index")
    (tmp_path / "models").symlink_to(MODEL_CACHE, target_is_directory=True)

    code, output = await run_to_exit({**stand_in.environment(), "DISCORD_TOKEN": OTHER}, tmp_path)

    assert code == 2, output
    assert output.rstrip().endswith(TOKEN_REJECTED)
    assert leaks(output, OTHER) == []
    assert all(request.status == 401 for request in stand_in.requests)
    assert leaks(json.dumps([request.body for request in stand_in.requests]), OTHER) == []
    stand_in.forgive()  # the stand-in flags a request without its token: that was the point
