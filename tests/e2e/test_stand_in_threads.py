"""Channel permission overwrites and threads in the stand-in, driven by discord.py's real client.

Each test drives a minimal discord.py client defined here (not the product's bot), as in
``test_stand_in.py``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import discord
import pytest
from discord.ext import commands
from stand_in import ApiSpec, DiscordStandIn, FakeOverwrite, World, default_world
from stand_in.guild import (
    ADMINISTRATOR,
    CREATE_PUBLIC_THREADS,
    MEMBER_OVERWRITE,
    ROLE_OVERWRITE,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    VIEW_CHANNEL,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(30)]


def make_bot(*, members: bool = False) -> commands.Bot:
    """A bare ``commands.Bot`` with a short guild_ready_timeout so on_ready comes quickly."""
    intents = discord.Intents.default()
    intents.members = members
    intents.message_content = True
    return commands.Bot(command_prefix="!", intents=intents, guild_ready_timeout=0.05)


# -- permission overwrites ------------------------------------------------------------------------


def test_overwrites_apply_in_discords_order() -> None:
    world = default_world()
    guild = world.guild
    admin, moderator = guild.roles[1], guild.roles[2]
    mona, adam, rita = (world.user(name).id for name in ("mona", "adam", "rita"))
    channel = dataclasses.replace(
        world.channel("general"),
        overwrites=(
            FakeOverwrite(guild.id, ROLE_OVERWRITE, deny=SEND_MESSAGES | VIEW_CHANNEL),
            FakeOverwrite(moderator.id, ROLE_OVERWRITE, allow=SEND_MESSAGES | VIEW_CHANNEL),
            FakeOverwrite(mona, MEMBER_OVERWRITE, deny=SEND_MESSAGES),
            FakeOverwrite(rita, MEMBER_OVERWRITE, allow=VIEW_CHANNEL),
        ),
    )
    guild = dataclasses.replace(
        guild,
        roles=(*guild.roles[:1], dataclasses.replace(admin, permissions=ADMINISTRATOR), *guild.roles[2:]),
    )

    def can(user_id: int, bit: int) -> bool:
        return bool(guild.permissions(user_id, channel) & bit)

    assert (can(mona, VIEW_CHANNEL), can(mona, SEND_MESSAGES)) == (True, False)  # role allow, member deny
    assert (can(rita, VIEW_CHANNEL), can(rita, SEND_MESSAGES)) == (True, False)  # @everyone deny stays
    assert can(adam, SEND_MESSAGES)  # administrators bypass overwrites
    assert can(world.user("olivia").id, SEND_MESSAGES)  # so does the owner
    assert guild.permissions(rita) & SEND_MESSAGES  # guild-wide, overwrites do not count


async def test_no_threads_channel_denies_threads_as_discord_py_computes_it(stand_in, start_client) -> None:
    bot = make_bot()
    guild_object = discord.Object(id=stand_in.world.guild.id)
    seen: list[discord.Permissions] = []

    @bot.tree.command(name="where", description="What may the bot do here", guild=guild_object)
    async def where(interaction: discord.Interaction) -> None:
        seen.append(interaction.app_permissions)
        await interaction.response.send_message("noted", ephemeral=True)

    await start_client(bot)
    await bot.tree.sync(guild=guild_object)
    guild = bot.guilds[0]
    no_threads = guild.get_channel(stand_in.world.channel("no-threads").id)
    general = guild.get_channel(stand_in.world.channel("general").id)
    sent = await stand_in.slash_command("where", channel="no-threads")
    await stand_in.wait_for_answer(sent)

    computed = no_threads.permissions_for(guild.me)
    assert (computed.send_messages, computed.create_public_threads) == (True, False)
    assert general.permissions_for(guild.me).create_public_threads
    [overwrite_target] = no_threads.overwrites
    assert overwrite_target == guild.default_role
    [app_permissions] = seen
    assert (app_permissions.send_messages, app_permissions.create_public_threads) == (True, False)
    # discord.py drops voice permissions in a text channel; Discord's computed value keeps them.
    assert app_permissions.value & ~discord.Permissions.voice().value == computed.value
    assert int(sent.payload["app_permissions"]) == app_permissions.value
    assert not int(sent.payload["channel"]["permissions"]) & CREATE_PUBLIC_THREADS  # rita's too


def world_with_hidden_general() -> World:
    """The default world where the bot's role may not view #general."""
    world = default_world()
    guild = world.guild
    bot_role = next(role for role in guild.roles if role.bot_id == world.bot.id)
    hidden = FakeOverwrite(bot_role.id, ROLE_OVERWRITE, deny=VIEW_CHANNEL)
    channels = tuple(
        dataclasses.replace(c, overwrites=(hidden,)) if c.name == "general" else c for c in guild.channels
    )
    return dataclasses.replace(world, guilds=(dataclasses.replace(guild, channels=channels),))


@pytest.mark.parametrize("world", [world_with_hidden_general()])
async def test_a_channel_the_bot_cannot_see_is_missing_access(stand_in, start_client) -> None:
    bot = await start_client(make_bot())
    general = bot.get_channel(stand_in.world.channel("general").id)

    with pytest.raises(discord.Forbidden) as refused:
        await general.send("hello?")

    assert refused.value.code == 50001
    assert not general.permissions_for(general.guild.me).view_channel
    assert stand_in.messages.from_bot() == []


async def test_resolved_members_and_channels_carry_permissions_in_the_channel(stand_in, start_client) -> None:
    bot = make_bot()
    guild_object = discord.Object(id=stand_in.world.guild.id)

    @bot.tree.command(name="about", description="About someone somewhere", guild=guild_object)
    async def about(
        interaction: discord.Interaction, member: discord.Member, place: discord.TextChannel
    ) -> None:
        await interaction.response.send_message("ok", ephemeral=True)

    await start_client(bot)
    await bot.tree.sync(guild=guild_object)
    world = stand_in.world
    sent = await stand_in.slash_command(
        "about",
        {"member": world.user("ned"), "place": world.channel("no-threads")},
        user="rita",
        channel="no-threads",
    )
    await stand_in.wait_for_answer(sent)

    resolved = sent.payload["data"]["resolved"]
    ned = int(resolved["members"][str(world.user("ned").id)]["permissions"])
    place = resolved["channels"][str(world.channel("no-threads").id)]
    assert ned & SEND_MESSAGES
    assert not ned & CREATE_PUBLIC_THREADS
    assert not int(place["permissions"]) & CREATE_PUBLIC_THREADS  # rita's
    assert int(place["app_permissions"]) == int(sent.payload["app_permissions"])  # the bot's


# -- threads --------------------------------------------------------------------------------------

THREADS = "/channels/{channel_id}/messages/{message_id}/threads"
MESSAGES = "/channels/{channel_id}/messages"


def dispatched(stand_in: DiscordStandIn, event: str) -> list[dict[str, Any]]:
    """The data of every ``event`` the current session was sent, in order."""
    session = stand_in.gateway.current_session()
    assert session is not None
    return [frame["d"] for frame in session.dispatches if frame["t"] == event]


async def test_message_create_thread_is_validated_answered_201_and_cached(stand_in, start_client) -> None:
    bot = make_bot()
    created: list[discord.Thread] = []
    joined: list[discord.Thread] = []

    @bot.event
    async def on_message(message: discord.Message) -> None:
        if message.content == "let's talk about the budget":
            await message.create_thread(name="Budget", auto_archive_duration=4320)

    @bot.event
    async def on_thread_create(thread: discord.Thread) -> None:
        created.append(thread)

    @bot.event
    async def on_thread_join(thread: discord.Thread) -> None:
        joined.append(thread)

    await start_client(bot)
    posted = await stand_in.post_message("rita", "let's talk about the budget")
    request = await stand_in.wait_for_request("POST", THREADS)
    await stand_in.wait_until(lambda: created and joined, what="on_thread_create and on_thread_join")

    world = stand_in.world
    assert request.operation == "create_thread_from_message"
    assert request.body == {"name": "Budget", "auto_archive_duration": 4320, "rate_limit_per_user": None}
    assert request.status == 201
    assert stand_in.invalid == []  # the body passed the spec; the 201 was checked against ThreadResponse
    answer = request.response
    assert answer["id"] == posted["id"]  # a thread's id is its starter message's
    assert (answer["type"], answer["owner_id"], answer["parent_id"]) == (
        11,
        str(world.bot.id),
        str(world.channel("general").id),
    )
    assert answer["thread_metadata"]["archived"] is False
    assert answer["member"]["user_id"] == str(world.bot.id)
    assert (answer["member_count"], answer["message_count"], answer["total_message_sent"]) == (1, 0, 0)
    [event] = dispatched(stand_in, "THREAD_CREATE")
    assert event["newly_created"] is True
    assert event["member"]["user_id"] == str(world.bot.id)

    [thread] = created
    assert bot.guilds[0].get_thread(int(posted["id"])) is thread
    assert thread.owner_id == world.bot.id
    assert thread.parent == bot.get_channel(world.channel("general").id)
    assert thread.auto_archive_duration == 4320
    assert thread.me is not None
    assert joined == [thread]
    assert stand_in.thread_of(posted) is stand_in.world.threads[thread.id]
    assert stand_in.threads == [stand_in.world.threads[thread.id]]


async def test_the_starter_message_shows_its_thread(stand_in, start_client) -> None:
    bot = await start_client(make_bot())
    general = bot.get_channel(stand_in.world.channel("general").id)
    sent = await general.send("A question worth a thread")
    thread = await sent.create_thread(name="Worth it")

    fetched = await general.fetch_message(sent.id)
    [update] = dispatched(stand_in, "MESSAGE_UPDATE")

    assert update["id"] == str(sent.id)
    assert update["thread"]["id"] == str(thread.id)
    assert update["flags"] & 32  # HAS_THREAD
    assert fetched.flags.has_thread
    assert fetched.thread is not None
    assert fetched.thread.id == thread.id
    assert [r.status for r in stand_in.requests_to("GET", MESSAGES + "/{message_id}")] == [200]
    assert stand_in.invalid == []  # the GET's MessageResponse with its thread matched the spec


async def test_messages_in_a_thread_reach_discord_py_and_count(stand_in, start_client) -> None:
    bot = make_bot()
    seen: list[discord.Message] = []

    @bot.event
    async def on_message(message: discord.Message) -> None:
        seen.append(message)
        if isinstance(message.channel, discord.Thread) and not message.author.bot:
            await message.reply(f"In the thread: {message.content}")

    await start_client(bot)
    world = stand_in.world
    starter = await stand_in.post_message("rita", "Who wrote this article?")
    thread = await stand_in.start_thread("rita", starter, "Authorship")
    question = await stand_in.post_message("ned", "And when?", channel=thread)
    reply = await stand_in.wait_for_request("POST", MESSAGES, where=lambda r: r.status == 200)
    await stand_in.wait_until(lambda: len(seen) == 3, what="the starter, the question and the reply")
    await stand_in.wait_until(lambda: bot.guilds[0].get_thread(thread.id).me, what="discord.py's join")

    assert reply.path == f"/channels/{thread.id}/messages"
    assert reply.response["type"] == 19  # REPLY, inside the thread
    assert reply.response["referenced_message"]["id"] == question["id"]
    in_thread = seen[1]
    assert isinstance(in_thread.channel, discord.Thread)
    assert in_thread.channel.id == thread.id
    assert in_thread.channel.parent_id == world.channel("general").id
    assert in_thread.content == "And when?"
    created = [m for m in dispatched(stand_in, "MESSAGE_CREATE") if m["channel_id"] == str(thread.id)]
    assert [m["guild_id"] for m in created] == [str(world.guild.id)] * 2
    assert (thread.message_count, thread.total_message_sent) == (2, 2)
    assert thread.last_message_id == int(reply.response["id"])
    # ned and the bot joined by posting; the bot was told of its own joining
    assert set(thread.members) == {world.user("rita").id, world.user("ned").id, world.bot.id}
    [joined] = dispatched(stand_in, "THREAD_MEMBERS_UPDATE")
    assert [m["user_id"] for m in joined["added_members"]] == [str(world.bot.id)]
    assert bot.guilds[0].get_thread(thread.id).me is not None


async def test_a_second_thread_on_one_message_is_160004(stand_in, start_client) -> None:
    bot = await start_client(make_bot())
    general = bot.get_channel(stand_in.world.channel("general").id)
    sent = await general.send("One thread only")
    await sent.create_thread(name="First")

    with pytest.raises(discord.HTTPException) as refused:
        await sent.create_thread(name="Second")

    assert (refused.value.status, refused.value.code) == (400, 160004)
    assert refused.value.text == "A thread has already been created for this message"
    assert [t.name for t in stand_in.threads] == ["First"]


async def test_a_thread_from_a_message_in_a_thread_is_50024(stand_in, start_client) -> None:
    bot = await start_client(make_bot())
    general = bot.get_channel(stand_in.world.channel("general").id)
    thread = await (await general.send("Start here")).create_thread(name="Outer")
    inner = await thread.send("Nested?")

    with pytest.raises(discord.HTTPException) as refused:
        await inner.create_thread(name="Inner")

    assert (refused.value.status, refused.value.code) == (400, 50024)
    assert [t.name for t in stand_in.threads] == ["Outer"]


async def test_no_threads_channel_lets_the_bot_talk_but_not_start_threads(stand_in, start_client) -> None:
    bot = await start_client(make_bot())
    no_threads = bot.get_channel(stand_in.world.channel("no-threads").id)
    sent = await no_threads.send("Talking is fine here")

    with pytest.raises(discord.Forbidden) as refused:
        await sent.create_thread(name="Not here")
    with pytest.raises(ValueError, match="Missing Permissions"):
        await stand_in.start_thread("rita", stand_in.messages.by_id[sent.id], "Nor by rita")

    assert (refused.value.status, refused.value.code) == (403, 50013)
    assert stand_in.threads == []
    assert [r.status for r in stand_in.requests_to("POST", THREADS)] == [403]


async def test_slash_command_in_a_thread_has_the_thread_and_its_parents_permissions(
    stand_in, start_client
) -> None:
    bot = make_bot()
    guild_object = discord.Object(id=stand_in.world.guild.id)
    seen: list[tuple[Any, discord.Permissions]] = []

    @bot.tree.command(name="where", description="Where am I", guild=guild_object)
    async def where(interaction: discord.Interaction) -> None:
        seen.append((interaction.channel, interaction.app_permissions))
        await interaction.response.send_message(f"In {interaction.channel.name}")

    await start_client(bot)
    await bot.tree.sync(guild=guild_object)
    # The owner may start threads even in #no-threads: overwrites do not bind her.
    starter = await stand_in.post_message("olivia", "Moderators only", channel="no-threads")
    thread = await stand_in.start_thread("olivia", starter, "Mods")
    sent = await stand_in.slash_command("where", user="rita", channel=thread)
    await stand_in.wait_for_answer(sent)

    [(channel, app_permissions)] = seen
    assert isinstance(channel, discord.Thread)
    assert channel.id == thread.id
    assert sent.payload["channel_id"] == str(thread.id)
    assert sent.payload["channel"]["type"] == 11
    assert sent.payload["channel"]["parent_id"] == str(stand_in.world.channel("no-threads").id)
    assert app_permissions.send_messages_in_threads
    assert not app_permissions.create_public_threads  # the parent's @everyone overwrite
    assert sent.original["content"] == "In Mods"
    assert sent.original["channel_id"] == str(thread.id)
    assert thread.message_count == 1  # the answer counts; answers join no one
    assert stand_in.world.bot.id not in thread.members


async def test_a_locked_archived_thread_refuses_and_an_archived_one_reopens(stand_in, start_client) -> None:
    bot = await start_client(make_bot())
    starter = await stand_in.post_message("rita", "Archive me")
    thread = await stand_in.start_thread("rita", starter, "Old news")
    cached = await stand_in.wait_until(lambda: bot.guilds[0].get_thread(thread.id), what="the thread")
    await stand_in.archive_thread(thread)
    await cached.send("Back again")

    assert not thread.archived

    # discord.py drops an archived thread from its cache and caches it anew when it reopens.
    def reopened() -> discord.Thread | None:
        found = bot.guilds[0].get_thread(thread.id)
        return found if found is not None and found is not cached else None  # (threads compare by id)

    assert not (await stand_in.wait_until(reopened, what="discord.py to cache the reopened thread")).archived
    await stand_in.archive_thread("Old news", locked=True)
    with pytest.raises(discord.Forbidden) as refused:
        await cached.send("Let me in")
    with pytest.raises(ValueError, match="locked and archived"):
        await stand_in.post_message("ned", "me too", channel=thread)

    assert refused.value.code == 50083
    assert (thread.archived, thread.locked) == (True, True)
    assert [m["thread_metadata"]["archived"] for m in dispatched(stand_in, "THREAD_UPDATE")] == [
        True,
        False,
        True,
    ]
    await stand_in.post_message("olivia", "Moderators still can", channel=thread)  # Manage Threads
    assert thread.message_count == 2
    assert (thread.archived, thread.locked) == (False, True)


# The bot identifies again at once; Discord's 5 s between identifies is the shard tests' subject.
@pytest.mark.parametrize("stand_in_options", [{"identify_window": 0.0}])
async def test_guild_create_lists_active_threads_after_a_reconnect(stand_in, start_client) -> None:
    starter = stand_in.messages.post(stand_in.world.user("rita"), stand_in.world.channel("general"), "Old")
    # Started before the bot connects: only GUILD_CREATE can tell it about these.
    active = await stand_in.start_thread("rita", starter, "Still going")
    other = await stand_in.post_message("ned", "Older")
    await stand_in.archive_thread(await stand_in.start_thread("ned", other, "Archived"))
    bot = make_bot()
    readies: list[str] = []

    async def no_identify_delay(shard_id: int | None, *, initial: bool = False) -> None:
        """discord.py waits 5 s before a repeated IDENTIFY; not needed here."""

    bot.before_identify_hook = no_identify_delay

    @bot.event
    async def on_ready() -> None:
        readies.append("ready")

    await start_client(bot)
    assert [t.id for t in bot.guilds[0].threads] == [active.id]
    stand_in.gateway.invalidate_sessions(resumable=False)
    await stand_in.wait_until(lambda: len(readies) == 2, timeout=3, what="a second READY")

    [guild_create] = dispatched(stand_in, "GUILD_CREATE")  # the new session's
    [listed] = guild_create["threads"]
    assert listed["id"] == str(active.id)
    assert "guild_id" not in listed
    [thread] = bot.guilds[0].threads
    assert (thread.id, thread.name, thread.owner_id) == (
        active.id,
        "Still going",
        stand_in.world.user("rita").id,
    )
    assert thread.parent_id == stand_in.world.channel("general").id


def world_where_the_bot(*, may_send: bool, may_send_in_threads: bool) -> World:
    """The default world with the bot's Send Messages in #general and Send Messages in Threads
    switched as asked (the first by an overwrite on its role, the second on its roles)."""
    world = default_world()
    guild = world.guild
    bot_role = next(role for role in guild.roles if role.bot_id == world.bot.id)
    roles = guild.roles
    if not may_send_in_threads:
        roles = tuple(
            dataclasses.replace(role, permissions=role.permissions & ~SEND_MESSAGES_IN_THREADS)
            if role.id in (guild.id, bot_role.id)
            else role
            for role in roles
        )
    channels = guild.channels
    if not may_send:
        mute = FakeOverwrite(bot_role.id, ROLE_OVERWRITE, deny=SEND_MESSAGES)
        channels = tuple(
            dataclasses.replace(c, overwrites=(mute,)) if c.name == "general" else c for c in channels
        )
    guild = dataclasses.replace(guild, roles=roles, channels=channels)
    return dataclasses.replace(world, guilds=(guild,))


@pytest.mark.parametrize(
    ("world", "in_channel", "in_thread"),
    [
        (world_where_the_bot(may_send=False, may_send_in_threads=True), 50013, 200),
        (world_where_the_bot(may_send=True, may_send_in_threads=False), 200, 50013),
    ],
    ids=["muted-in-channel", "no-send-in-threads"],
)
async def test_sending_in_a_thread_takes_send_messages_in_threads_not_send_messages(
    stand_in, start_client, in_channel: int, in_thread: int
) -> None:
    bot = await start_client(make_bot())
    starter = await stand_in.post_message("rita", "Thread, please")
    thread = await stand_in.start_thread("rita", starter, "Thread")
    general = bot.get_channel(stand_in.world.channel("general").id)
    cached = await stand_in.wait_until(lambda: bot.guilds[0].get_thread(thread.id), what="the thread")

    outcomes = []
    for place in (general, cached):
        try:
            await place.send("hello")
            outcomes.append(200)
        except discord.Forbidden as error:
            outcomes.append(error.code)

    assert outcomes == [in_channel, in_thread]
    assert thread.message_count == (1 if in_thread == 200 else 0)


async def test_a_deleted_message_leaves_the_threads_total(stand_in, start_client) -> None:
    bot = await start_client(make_bot())
    general = bot.get_channel(stand_in.world.channel("general").id)
    thread = await (await general.send("Start")).create_thread(name="Short-lived")
    first = await thread.send("one")
    await thread.send("two")
    await first.delete()

    [stored] = stand_in.threads
    assert (stored.message_count, stored.total_message_sent) == (1, 2)
    fetched = await bot.fetch_channel(thread.id)
    assert isinstance(fetched, discord.Thread)
    assert (fetched.message_count, fetched.total_message_sent) == (1, 2)


def test_thread_payloads_match_the_spec_response_schemas(discord_api_spec: ApiSpec) -> None:
    server = DiscordStandIn(spec=discord_api_spec)
    world = server.world
    starter = server.messages.post(world.user("rita"), world.channel("general"), "Start")
    thread = server.channel_threads.start(world.bot, world.channel("general"), starter, "A thread")
    server.messages.post(world.user("ned"), thread, "Inside")

    checks = {
        "ThreadResponse": [thread.payload(), thread.payload(member_of=world.bot.id)],
        "ThreadMemberResponse": [thread.member_payload(world.bot.id)],
        "MessageResponse": [*server.messages.in_channel(thread.id), starter],
        "GuildChannelResponse": [channel.payload() for channel in world.guild.channels],
    }
    for schema, instances in checks.items():
        validator = discord_api_spec.schema_validator(schema)
        for instance in instances:
            assert [e.message for e in validator.iter_errors(instance)] == [], schema
    assert starter["thread"]["member"]["user_id"] == str(world.bot.id)
    assert world.channel("A thread") is thread
    assert world.channel(thread.id) is thread
