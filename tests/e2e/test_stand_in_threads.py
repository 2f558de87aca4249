"""Channel permission overwrites and threads in the stand-in, driven by discord.py's real client.

Each test drives a minimal discord.py client defined here (not the product's bot), as in
``test_stand_in.py``.
"""

from __future__ import annotations

import dataclasses

import discord
import pytest
from discord.ext import commands
from stand_in import FakeOverwrite, World, default_world
from stand_in.guild import (
    ADMINISTRATOR,
    CREATE_PUBLIC_THREADS,
    MEMBER_OVERWRITE,
    ROLE_OVERWRITE,
    SEND_MESSAGES,
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
