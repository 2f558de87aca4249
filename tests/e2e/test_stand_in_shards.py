"""The stand-in serves a sharded bot: the session start limit and its identify window per
rate-limit key, ``GET /gateway/bot``, sessions of several shards at once and each guild's events on
its own shard — against raw gateway sockets and discord.py's real ``AutoShardedClient``."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import discord
import pytest
from discord.ext import commands
from stand_in import DiscordStandIn, World, default_world, many_guilds_world
from stand_in.gateway import Session
from stand_in.guild import MANAGE_GUILD
from stand_in.sharding import IdentifyVerdict, SessionStartLimit, shard_of

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(30)]

DISPATCH, INVALID_SESSION = 0, 9
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


def test_many_guilds_world_puts_guild_i_on_shard_i_mod_n() -> None:
    world = many_guilds_world(9)
    template = default_world()

    for shard_count in range(1, 9):
        assert [shard_of(g.id, shard_count) for g in world.guilds] == [i % shard_count for i in range(9)]
    assert len({g.id for g in world.guilds}) == 9
    assert [c.name for g in world.guilds for c in g.channels] == [f"general-{i}" for i in range(9)]
    for guild in world.guilds:
        assert {m.user.username for m in guild.members} == {m.user.username for m in template.guild.members}
        [bot_role] = [guild.role(r) for r in guild.member(world.bot.id).role_ids]
        assert (bot_role.name, bot_role.bot_id) == ("Article Bot", world.bot.id)
        assert guild.permissions(world.user("adam").id) & MANAGE_GUILD
    assert world.strangers == template.strangers
    with pytest.raises(ValueError, match="at least one guild"):
        many_guilds_world(0)


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

    assert (first["op"], first["t"], first["d"]["shard"]) == (DISPATCH, "READY", [0, 2])
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


# -- discord.py's AutoShardedClient --------------------------------------------------------------

FOUR_GUILDS = many_guilds_world(4)  # guilds 0 and 2 on shard 0 of 2, guilds 1 and 3 on shard 1
WINDOW = 0.05


def guild_ids_of_shard(world: World, shard_id: int, shard_count: int = 2) -> list[int]:
    """The ids of the guilds whose events go to ``shard_id``, in the world's order."""
    return [guild.id for guild in world.guilds if shard_of(guild.id, shard_count) == shard_id]


def sharded(*, window: float = WINDOW, **options: Any) -> commands.AutoShardedBot:
    """An ``AutoShardedBot`` paced like discord.py, but at the stand-in's ``window``: discord.py
    sleeps 5 s, Discord's identify window, before each IDENTIFY but a client's first."""
    intents = discord.Intents.default()
    intents.message_content = True
    bot = commands.AutoShardedBot(command_prefix="!", intents=intents, guild_ready_timeout=0.05, **options)

    async def identify_after_the_window(shard_id: int | None, *, initial: bool = False) -> None:
        if not initial:
            await asyncio.sleep(window)

    bot.before_identify_hook = identify_after_the_window
    return bot


@pytest.mark.parametrize(("world", "stand_in_options"), [(FOUR_GUILDS, {"identify_window": WINDOW})])
async def test_auto_sharded_client_gets_each_guild_on_its_own_shard(stand_in, start_client, world) -> None:
    bot = sharded(shard_count=2)
    shards_ready: list[int] = []

    @bot.event
    async def on_shard_ready(shard_id: int) -> None:
        shards_ready.append(shard_id)

    await start_client(bot)

    assert sorted(shards_ready) == [0, 1]
    assert stand_in.gateway.connected_shards() == [(0, 2), (1, 2)]
    assert [f.data["shard"] for f in stand_in.gateway.received if f.op == 2] == [[0, 2], [1, 2]]
    for shard_id in (0, 1):
        session = stand_in.gateway.session_for_shard(shard_id)
        [ready] = dispatched(session, "READY")
        expected = [str(guild_id) for guild_id in guild_ids_of_shard(world, shard_id)]
        assert ready["shard"] == [shard_id, 2]
        assert [guild["id"] for guild in ready["guilds"]] == expected
        assert [guild["id"] for guild in dispatched(session, "GUILD_CREATE")] == expected
    assert {guild.id: guild.shard_id for guild in bot.guilds} == {
        guild.id: index % 2 for index, guild in enumerate(world.guilds)
    }


@pytest.mark.parametrize(("world", "stand_in_options"), [(FOUR_GUILDS, {"identify_window": WINDOW})])
async def test_messages_and_slash_commands_arrive_on_their_guilds_shard_only(
    stand_in, start_client, world
) -> None:
    bot = sharded(shard_count=2)
    on_shard_one = world.guilds[1]
    seen: list[tuple[int | None, str]] = []

    @bot.event
    async def on_message(message: discord.Message) -> None:
        seen.append((message.guild.shard_id if message.guild else None, message.content))

    @bot.tree.command(name="where", description="Which shard am I on?", guild=discord.Object(on_shard_one.id))
    async def where(interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"shard {interaction.guild.shard_id}")

    await start_client(bot)
    await bot.tree.sync(guild=discord.Object(on_shard_one.id))
    zero, one = stand_in.gateway.session_for_shard(0), stand_in.gateway.session_for_shard(1)

    in_guild = await stand_in.post_message("rita", "hello, shard one", channel="general-1")
    in_dm = await stand_in.post_message("dora", "hello from a DM", dm=True)
    sent = await stand_in.slash_command("where", channel="general-1")
    await stand_in.wait_for_answer(sent)
    await stand_in.wait_until(lambda: len(seen) == 2, what="both messages")

    # Shard 1 also gets the bot's own answer to the command, a message in its guild.
    assert [m["id"] for m in dispatched(one, "MESSAGE_CREATE")] == [in_guild["id"], sent.original["id"]]
    assert [m["id"] for m in dispatched(zero, "MESSAGE_CREATE")] == [in_dm["id"]]
    assert [i["id"] for i in dispatched(one, "INTERACTION_CREATE")] == [str(sent.id)]
    assert dispatched(zero, "INTERACTION_CREATE") == []
    assert seen == [(1, "hello, shard one"), (None, "hello from a DM")]
    assert sent.original["content"] == "shard 1"


@pytest.mark.parametrize(("world", "stand_in_options"), [(FOUR_GUILDS, {"max_concurrency": 2})])
async def test_two_clients_of_one_shard_each_see_only_their_shards_guilds(
    stand_in, start_client, world
) -> None:
    zero, one = sharded(shard_ids=[0], shard_count=2), sharded(shard_ids=[1], shard_count=2)
    seen: dict[int, list[str]] = {0: [], 1: []}
    zero.add_listener(recording_into(seen[0]), "on_message")
    one.add_listener(recording_into(seen[1]), "on_message")

    await start_client(zero)
    await start_client(one)
    await stand_in.post_message("rita", "for shard zero", channel="general-0")
    await stand_in.post_message("rita", "for shard one", channel="general-3")
    await stand_in.wait_until(lambda: len(seen[0]) + len(seen[1]) == 2, what="both messages")

    assert [guild.id for guild in zero.guilds] == guild_ids_of_shard(world, 0)
    assert [guild.id for guild in one.guilds] == guild_ids_of_shard(world, 1)
    assert seen == {0: ["for shard zero"], 1: ["for shard one"]}
    assert stand_in.gateway.connected_shards() == [(0, 2), (1, 2)]


def recording_into(seen: list[str]) -> Callable[[discord.Message], Awaitable[None]]:
    """An ``on_message`` listener that appends each message's content to ``seen``."""

    async def on_message(message: discord.Message) -> None:
        seen.append(message.content)

    return on_message


@pytest.mark.parametrize(("world", "stand_in_options"), [(FOUR_GUILDS, {"identify_window": 1.0})])
async def test_two_clients_identifying_shards_of_one_bucket_at_once_one_waits_a_window(
    stand_in, start_client
) -> None:
    zero = sharded(shard_ids=[0], shard_count=2, window=1.0)
    one = sharded(shard_ids=[1], shard_count=2, window=1.0)

    # As two processes would: each starts with its own first shard, so neither waits before its
    # first IDENTIFY, and the one Discord refuses identifies again a window later.
    await asyncio.gather(start_client(zero, timeout=10), start_client(one, timeout=10))

    [problem] = stand_in.gateway.problems
    assert "too early" in problem
    assert "answered INVALID_SESSION" in problem
    stand_in.forgive()
    identified = [f for f in stand_in.gateway.received if f.op == 2]
    assert sorted(f.data["shard"][0] for f in identified) in ([0, 0, 1], [0, 1, 1])  # one of them twice
    assert identified[2].at - identified[0].at >= 1.0
    assert stand_in.gateway.connected_shards() == [(0, 2), (1, 2)]


@pytest.mark.parametrize(("world", "stand_in_options"), [(many_guilds_world(2), {"shards": 2})])
async def test_auto_sharded_client_asks_for_shards_and_paces_its_identifies_itself(
    stand_in, start_client
) -> None:
    # discord.py's own pacing (5 s before each IDENTIFY but the first) against Discord's own window.
    bot = discord.AutoShardedClient(intents=discord.Intents.default(), guild_ready_timeout=0.05)

    await start_client(bot, timeout=15)
    limits = await bot.fetch_session_start_limits()

    assert bot.shard_count == 2
    assert [(r.method, r.path) for r in stand_in.requests][:3] == [
        ("GET", "/users/@me"),
        ("GET", "/oauth2/applications/@me"),
        ("GET", "/gateway/bot"),
    ]
    first, second = [f for f in stand_in.gateway.received if f.op == 2]
    assert (first.data["shard"], second.data["shard"]) == ([0, 2], [1, 2])
    assert second.at - first.at >= 5.0
    assert stand_in.gateway.problems == []
    assert (limits.total, limits.remaining, limits.max_concurrency) == (1000, 998, 1)
    assert stand_in.gateway.connected_shards() == [(0, 2), (1, 2)]


# -- one shard per process ---------------------------------------------------------------------------

# A bot process running one shard of two, configured only by environment variables.
SHARD_PROCESS = """
import os
import discord, yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

Route.BASE = os.environ["DISCORD_API_BASE_URL"]
DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(os.environ["DISCORD_GATEWAY_URL"])
shard_id = int(os.environ["SHARD_ID"])
intents = discord.Intents.default()
intents.message_content = True
client = discord.AutoShardedClient(
    intents=intents, shard_ids=[shard_id], shard_count=2, guild_ready_timeout=0.1
)

@client.event
async def on_message(message):
    if message.author != client.user and message.content == "ping":
        await message.reply(f"pong from shard {message.guild.shard_id} in process {shard_id}")

client.run(os.environ["DISCORD_TOKEN"], log_handler=None)
"""


def test_two_bot_processes_of_one_shard_each_answer_in_their_own_guilds(discord_api_spec) -> None:
    world = many_guilds_world(2)
    with DiscordStandIn.in_thread(world, spec=discord_api_spec, max_concurrency=2) as threaded:
        server = threaded.server
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", SHARD_PROCESS],
                env={**os.environ, **server.environment(), "SHARD_ID": str(shard_id)},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for shard_id in (0, 1)
        ]
        try:
            for shard_id in (0, 1):
                threaded.call(server.wait_for_session, shard_id=shard_id, timeout=20)
            for shard_id in (0, 1):
                threaded.call(server.post_message, "rita", "ping", channel=f"general-{shard_id}")
            threaded.call(
                server.wait_until,
                lambda: len(server.requests_to("POST", "/channels/{channel_id}/messages")) == 2,
                timeout=10,
                what="both replies",
            )
        finally:
            for process in processes:
                process.terminate()
            output = "\n".join(p.communicate(timeout=10)[0].decode(errors="replace") for p in processes)

        replies = {
            int(r.response["channel_id"]): r.body["content"]
            for r in server.requests_to("POST", "/channels/{channel_id}/messages")
        }
        assert replies == {
            world.channel("general-0").id: "pong from shard 0 in process 0",
            world.channel("general-1").id: "pong from shard 1 in process 1",
        }, output
        assert [f.data["shard"] for f in server.gateway.received if f.op == 2] in (
            [[0, 2], [1, 2]],
            [[1, 2], [0, 2]],
        )
        assert threaded.call(server.problems) == [], output
