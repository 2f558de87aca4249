"""`run_bot.py cluster --processes 2` against a stand-in with two shards and two guilds: one bot
process per shard, started one after the other, each answering its own guild's questions; a
process killed is started again by the supervisor, and SIGTERM stops everything with exit 0."""

from __future__ import annotations

import asyncio
import os
import re
import signal

import pytest
from stand_in import DiscordStandIn, many_guilds_world, shard_of
from traffic import MESSAGES

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(240)]

WORLD = many_guilds_world(2)
QUESTION = "When does the contract expire?"
STARTED = re.compile(r"started (shards? \S+) of 2 \(pid (\d+)\)")


def pids(log: str) -> dict[str, list[int]]:
    """Each process's pids, in the order the supervisor started them."""
    found: dict[str, list[int]] = {}
    for name, pid in STARTED.findall(log):
        found.setdefault(name, []).append(int(pid))
    return found


async def answered(stand_in: DiscordStandIn, guild_index: int) -> None:
    """Ask in guild `guild_index` and wait for the answer in the thread started from the question."""
    bot = stand_in.world.bot
    question = await stand_in.post_message(
        "rita", f"{bot.mention} {QUESTION}", channel=f"general-{guild_index}"
    )
    await stand_in.wait_for_request(
        "POST", MESSAGES, timeout=30, where=lambda r: r.path == f"/channels/{question['id']}/messages"
    )


@pytest.mark.parametrize("world", [WORLD])
@pytest.mark.parametrize("stand_in_options", [{"shards": 2}])
async def test_a_two_process_shard_cluster_answers_every_guild_and_restarts_a_killed_process(
    stand_in: DiscordStandIn, start_bot_process
) -> None:
    assert sorted(shard_of(guild.id, 2) for guild in WORLD.guilds) == [0, 1]
    cluster = await start_bot_process(args=["cluster", "--processes", "2"], ready_count=2, ready_timeout=150)

    started = pids(cluster.log())
    assert sorted(started) == ["shard 0", "shard 1"]
    assert sorted(stand_in.gateway.connected_shards()) == [(0, 2), (1, 2)]
    identifies = [s.identify["shard"] for s in stand_in.gateway.sessions_by_shard().values()]
    assert sorted(identifies) == [[0, 2], [1, 2]]
    assert not stand_in.protocol_errors  # no identify came too early
    commands = stand_in.requests_to("PUT", "/applications/{application_id}/guilds/{guild_id}/commands")
    assert len(commands) == len(WORLD.guilds)  # synced once, by shard 0's process, not by both

    for guild_index in range(len(WORLD.guilds)):  # each shard's process answers its guild
        await answered(stand_in, guild_index)

    [victim] = started["shard 1"]
    os.kill(victim, signal.SIGKILL)
    await stand_in.wait_until(lambda: len(pids(cluster.log()).get("shard 1", [])) == 2, timeout=30)
    await stand_in.wait_until(lambda: cluster.log().count("connected as") == 3, timeout=120)
    guild_on_shard_1 = next(i for i, guild in enumerate(WORLD.guilds) if shard_of(guild.id, 2) == 1)
    await answered(stand_in, guild_on_shard_1)
    assert pids(cluster.log())["shard 0"] == started["shard 0"]  # the other process was left alone

    assert await cluster.stop() == 0
    for pid in [*pids(cluster.log())["shard 0"], *pids(cluster.log())["shard 1"][1:]]:
        await asyncio.sleep(0)
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
