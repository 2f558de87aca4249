"""`run_bot.py cluster` when it can't learn how many shards to run: one line and an exit code, as
the bot's own start (2: fix a setting; 3: Discord unreachable, perhaps passing)."""

from __future__ import annotations

import pytest
from stand_in import DiscordStandIn

from bot import cluster
from tests.databases import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]


def test_a_rejected_token_stops_the_cluster_with_2(capsys: pytest.CaptureFixture[str]) -> None:
    with DiscordStandIn.in_thread() as threaded:
        env = {**threaded.server.environment(), "DISCORD_TOKEN": "x" * 59}
        assert cluster.run(2, env) == 2
        threaded.server.forgive()
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "error: DISCORD_TOKEN: Discord rejected the token; reset it in the Developer Portal"
    )


def test_an_unreachable_discord_stops_the_cluster_with_3(capsys: pytest.CaptureFixture[str]) -> None:
    env = {"DISCORD_TOKEN": "x" * 59, "DISCORD_API_BASE_URL": f"http://127.0.0.1:{free_port()}"}
    assert cluster.run(2, env) == 3
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("error: could not ask Discord how many shards to run (")
    assert last.endswith("set SHARD_COUNT, or check the network and DISCORD_API_BASE_URL")
