"""The stand-in serves a sharded bot: the session start limit and its identify window per
rate-limit key, ``GET /gateway/bot``, sessions of several shards at once and each guild's events on
its own shard — against raw gateway sockets and discord.py's real ``AutoShardedClient``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from stand_in import DiscordStandIn
from stand_in.gateway import Session
from stand_in.sharding import IdentifyVerdict, SessionStartLimit, shard_of

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(30)]

READY, INVALID_SESSION = 0, 9
MESSAGE_INTENTS = 1 << 9 | 1 << 12  # GUILD_MESSAGES, DIRECT_MESSAGES


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# -- the session start limit on its own ------------------------------------------------------------


def test_each_shard_bucket_may_identify_once_per_window() -> None:
    clock = FakeClock()
    limit = SessionStartLimit(total=10, max_concurrency=2, window=5.0, clock=clock)

    # Shards 0 and 1 have rate-limit keys 0 and 1: they may identify together; shard 2 (key 0) may not.
    assert [limit.identify(shard) for shard in (0, 1, 2)] == [
        IdentifyVerdict.ACCEPTED,
        IdentifyVerdict.ACCEPTED,
        IdentifyVerdict.TOO_FAST,
    ]
    clock.now += 4.5
    assert limit.wait_before_identify(2) == 0.5
    assert limit.identify(2) is IdentifyVerdict.TOO_FAST
    clock.now += 0.5
    assert limit.identify(2) is IdentifyVerdict.ACCEPTED
    assert limit.identify(0) is IdentifyVerdict.TOO_FAST  # key 0 again, just used by shard 2
    assert limit.identify(3) is IdentifyVerdict.ACCEPTED  # key 1, last used 5 s ago by shard 1
    # Refused IDENTIFYs use up session starts too.
    assert limit.remaining == 10 - 7


def test_session_starts_of_every_shard_run_out_and_come_back_after_the_period() -> None:
    clock = FakeClock()
    limit = SessionStartLimit(total=2, max_concurrency=4, window=5.0, period=60.0, clock=clock)

    assert [limit.identify(shard) for shard in (0, 1, 2)] == [
        IdentifyVerdict.ACCEPTED,
        IdentifyVerdict.ACCEPTED,
        IdentifyVerdict.LIMIT_EXHAUSTED,
    ]
    clock.now += 15.0
    assert limit.payload() == {"total": 2, "remaining": 0, "reset_after": 45_000, "max_concurrency": 4}
    clock.now += 45.0
    assert limit.payload()["remaining"] == 2
    assert limit.identify(2) is IdentifyVerdict.ACCEPTED


def test_a_shard_limit_needs_one_start_and_one_bucket_at_least() -> None:
    with pytest.raises(ValueError, match="max_concurrency"):
        SessionStartLimit(max_concurrency=0)
    with pytest.raises(ValueError, match="window"):
        SessionStartLimit(window=-1.0)


# -- raw gateway sockets ---------------------------------------------------------------------------


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def identify(
    http: aiohttp.ClientSession, stand_in: DiscordStandIn, shard: list[int]
) -> tuple[aiohttp.ClientWebSocketResponse, dict[str, Any] | None]:
    """Open a gateway socket, IDENTIFY as ``shard`` and return the socket and the first frame
    after HELLO (READY or INVALID_SESSION; None if the socket was closed instead)."""
    socket = await http.ws_connect(f"{stand_in.gateway_url}?v=10&encoding=json")
    hello = await socket.receive_json()
    assert hello["op"] == 10
    properties = {"os": "linux", "browser": "raw-test", "device": "raw-test"}
    data = {"token": stand_in.token, "intents": MESSAGE_INTENTS, "properties": properties, "shard": shard}
    await socket.send_json({"op": 2, "d": data})
    answer = await socket.receive()
    return socket, answer.json() if answer.type == aiohttp.WSMsgType.TEXT else None


@pytest.mark.parametrize("stand_in_options", [{"max_concurrency": 1, "identify_window": 0.3}])
async def test_a_second_shard_of_one_bucket_within_the_window_gets_invalid_session(
    stand_in: DiscordStandIn, http: aiohttp.ClientSession
) -> None:
    _, first = await identify(http, stand_in, [0, 2])
    refused_socket, refused = await identify(http, stand_in, [1, 2])

    assert (first["op"], first["t"], first["d"]["shard"]) == (READY, "READY", [0, 2])
    assert refused == {"op": INVALID_SESSION, "d": False, "s": None, "t": None}
    [problem] = stand_in.gateway.problems
    assert "IDENTIFY of shard [1, 2]" in problem
    assert "INVALID_SESSION" in problem
    stand_in.forgive()
    assert [session.shard for session in stand_in.gateway.sessions.values()] == [(0, 2)]

    # After the window, the same shard is welcome.
    await refused_socket.close()
    await stand_in.wait_until(
        lambda: stand_in.gateway.session_start_limit.wait_before_identify(1) == 0,
        what="the identify window to pass",
    )
    _, second_try = await identify(http, stand_in, [1, 2])
    assert second_try["d"]["shard"] == [1, 2]
    assert stand_in.gateway.session_start_limit.remaining == 1000 - 3


@pytest.mark.parametrize("stand_in_options", [{"max_concurrency": 2}])
async def test_shards_of_different_buckets_identify_together(
    stand_in: DiscordStandIn, http: aiohttp.ClientSession
) -> None:
    readies = [(await identify(http, stand_in, [shard, 2]))[1] for shard in (0, 1)]

    assert [(ready["t"], ready["d"]["shard"]) for ready in readies] == [("READY", [0, 2]), ("READY", [1, 2])]
    assert stand_in.gateway.problems == []


@pytest.mark.parametrize("stand_in_options", [{"session_starts": 2, "max_concurrency": 4}])
async def test_identifying_beyond_the_session_starts_ends_every_shard_session(
    stand_in: DiscordStandIn, http: aiohttp.ClientSession
) -> None:
    sockets = [(await identify(http, stand_in, [shard, 4]))[0] for shard in (0, 1)]
    last, _ = await identify(http, stand_in, [2, 4])

    for socket in [*sockets, last]:
        while not socket.closed:
            await socket.receive()
        assert socket.close_code == 4004
    assert stand_in.gateway.sessions == {}
    [problem] = stand_in.gateway.problems
    assert "session start limit (2 per 86400s)" in problem
    stand_in.forgive()


@pytest.mark.parametrize(
    "stand_in_options", [{"shards": 3, "max_concurrency": 2, "session_starts": 50, "identify_window": 0.0}]
)
async def test_gateway_bot_reports_the_configured_shards_and_a_falling_session_start_limit(
    stand_in: DiscordStandIn, http: aiohttp.ClientSession
) -> None:
    async def gateway_bot() -> dict[str, Any]:
        url = f"{stand_in.api_base_url}/gateway/bot"
        async with http.get(url, headers={"Authorization": f"Bot {stand_in.token}"}) as response:
            assert response.status == 200
            return await response.json()

    before = await gateway_bot()
    for shard in (0, 1, 2):
        await identify(http, stand_in, [shard, 3])
    after = await gateway_bot()

    assert before["url"] == stand_in.gateway_url
    assert before["shards"] == 3
    limit = before["session_start_limit"]
    assert (limit["total"], limit["remaining"], limit["max_concurrency"]) == (50, 50, 2)
    assert 86_399_000 < limit["reset_after"] <= 86_400_000
    assert after["session_start_limit"]["remaining"] == 47
    assert after["session_start_limit"]["reset_after"] <= limit["reset_after"]


def dispatched(session: Session, event: str) -> list[dict[str, Any]]:
    """The ``d`` of every ``event`` the stand-in dispatched to ``session``."""
    return [frame["d"] for frame in session.dispatches if frame["t"] == event]


@pytest.mark.parametrize("stand_in_options", [{"max_concurrency": 2, "identify_window": 0.0}])
async def test_sessions_of_two_shards_coexist_and_each_gets_its_own_events(
    stand_in: DiscordStandIn, http: aiohttp.ClientSession
) -> None:
    guild = stand_in.world.guild
    assert shard_of(guild.id, 2) == 1  # the default guild lives on shard 1 of 2
    sockets = [await identify(http, stand_in, [shard, 2]) for shard in (0, 1)]

    assert len(sockets) == 2
    assert stand_in.gateway.connected_shards() == [(0, 2), (1, 2)]
    first, second = await stand_in.wait_for_session(shard_id=0), await stand_in.wait_for_session(shard_id=1)
    assert await stand_in.wait_for_session() is first  # by default: the session DMs go to
    assert [g["id"] for g in dispatched(first, "READY")[0]["guilds"]] == []
    assert [g["id"] for g in dispatched(second, "READY")[0]["guilds"]] == [str(guild.id)]

    in_guild = await stand_in.post_message("rita", f"{stand_in.world.bot.mention} hello")
    in_dm = await stand_in.post_message("dora", "hello", dm=True)
    assert [m["id"] for m in dispatched(second, "MESSAGE_CREATE")] == [in_guild["id"]]
    assert [m["id"] for m in dispatched(first, "MESSAGE_CREATE")] == [in_dm["id"]]

    # A new session for shard 1 replaces the old one; shard 0's is untouched.
    sockets.append(await identify(http, stand_in, [1, 2]))
    sessions = stand_in.gateway.sessions_by_shard()
    assert sorted(sessions) == [(0, 2), (1, 2)]
    assert sessions[(0, 2)] is first
    assert sessions[(1, 2)] is not second
