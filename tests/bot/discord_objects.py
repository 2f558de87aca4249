"""Spec'd stand-ins for the Discord objects the bot's handlers receive: a misspelt attribute fails
instead of passing silently. Objects whose calls the tests check are autospecced (call signatures
checked too); the rest are plain specs, which are much cheaper to build."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from unittest.mock import NonCallableMagicMock, create_autospec

import discord

if TYPE_CHECKING:
    from bot.bot import ArticleBot

BOT_ID = 111111111111111111
BOT_ROLE_ID = 222222222222222222
GUILD_ID = 333333333333333333
CHANNEL_ID = 444444444444444444
USER_ID = 555555555555555555
ADMIN_USER_ID = 666666666666666666
OWNER_ID = 999999999999999999  # the application's owner (the fixture bot's owner_id)
ADMIN_ROLE_ID = 777777777777777777
OTHER_USER_ID = 888888888888888888


# What the bot needs to answer in a channel, and no more
ANSWERING = discord.Permissions(
    view_channel=True, send_messages=True, embed_links=True, read_message_history=True, add_reactions=True
)


def make_role(role_id: int) -> Any:
    role = NonCallableMagicMock(spec=discord.Role)
    role.id = role_id
    return role


def make_guild() -> Any:
    guild = NonCallableMagicMock(spec=discord.Guild)
    guild.id = GUILD_ID
    guild.self_role = make_role(BOT_ROLE_ID)
    return guild


def make_member(user_id: int = USER_ID, *, role_ids: tuple[int, ...] = (), bot: bool = False) -> Any:
    member = NonCallableMagicMock(spec=discord.Member)
    member.id = user_id
    member.bot = bot
    member.roles = [make_role(role_id) for role_id in role_ids]
    return member


def make_message(
    content: str,
    *,
    author: Any = None,
    mentions: tuple[int, ...] = (BOT_ID,),
    role_mentions: tuple[int, ...] = (),
    dm: bool = False,
    channel_id: int = CHANNEL_ID,
    parent_id: int | None = None,
    bot_permissions: discord.Permissions | None = None,
) -> Any:
    """A message as the gateway would give it; `mentions` are the user ids in its mention list.
    In a guild the bot has `bot_permissions` in its channel: by default those to answer, and none
    to start threads (the tests that want threads say so)."""
    message = create_autospec(discord.Message, instance=True)
    message.id = 999
    message.content = content
    message.type = discord.MessageType.default
    message.author = author or make_member()
    message.mentions = [make_member(user_id) for user_id in mentions]
    message.role_mentions = [make_role(role_id) for role_id in role_mentions]
    message.mention_everyone = False
    if dm:
        message.guild = None
        message.channel = create_autospec(discord.DMChannel, instance=True)
    else:
        message.guild = make_guild()
        kind = discord.Thread if parent_id is not None else discord.TextChannel
        message.channel = create_autospec(kind, instance=True)
        if parent_id is not None:
            message.channel.parent_id = parent_id
        message.channel.permissions_for.return_value = bot_permissions or ANSWERING
    message.channel.id = channel_id
    return message


def make_interaction(
    bot: ArticleBot,
    *,
    user: Any = None,
    dm: bool = False,
    permissions: discord.Permissions | None = None,
) -> Any:
    """An application command or component interaction from `user` (a member by default)."""
    interaction = create_autospec(discord.Interaction, instance=True)
    interaction.id = 12345
    interaction.client = bot
    interaction.user = user or make_member()
    interaction.guild = None if dm else make_guild()
    interaction.guild_id = None if dm else GUILD_ID
    interaction.permissions = permissions or discord.Permissions.none()
    interaction.command = None
    interaction.response = create_autospec(discord.InteractionResponse, instance=True)
    interaction.response.is_done.return_value = False
    interaction.response.type = None
    interaction.followup = create_autospec(discord.Webhook, instance=True)
    return interaction


def responded(interaction: Any) -> None:
    """Make `interaction` look answered, as after `send_message` (or `defer` with `deferred`)."""
    interaction.response.is_done.return_value = True
    interaction.response.type = discord.InteractionResponseType.channel_message


def deferred(interaction: Any) -> None:
    interaction.response.is_done.return_value = True
    interaction.response.type = discord.InteractionResponseType.deferred_channel_message


def pings_nobody(allowed: discord.AllowedMentions) -> bool:
    return not (allowed.everyone or allowed.users or allowed.roles or allowed.replied_user)
