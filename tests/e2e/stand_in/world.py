"""Who and what exists in the stand-in: the bot, its application, one realistic guild, DM users.

The default cast (look them up with ``world.user("adam")``):

==========  ==========================================================================
olivia      guild owner (all permissions)
adam        "Admin" role: Manage Server (0x20) on top of @everyone
mona        "Moderator" role: Manage Messages (0x2000) only, no Manage Server
rita, ned   ordinary members (@everyone only: Discord's real default, no admin bits)
dora        shares no guild with the bot; reach her through DMs
==========  ==========================================================================

Channels (text, in this order):

====================  =====================================================================
#general              guild id + 10; no overwrites
#article-questions    guild id + 11; no overwrites
#no-threads           guild id + 12; its @everyone overwrite denies Create Public Threads, so
                      the bot (and everyone else but the owner) may talk there but not start
                      threads
====================  =====================================================================

The bot is a member with Discord's managed "Article Bot" role. Ids are fixed so failures are easy
to read.

Threads come and go while a test runs, so the otherwise frozen ``World`` keeps them in a mutable
registry, ``world.threads`` (thread id → ``FakeThread``). A ``DiscordStandIn`` works on a copy of
the world it is given with a registry of its own, so one stand-in's threads never reach another.
``world.channel`` finds threads too, so everything that looks a channel up (REST routes,
interactions, posting messages) works in a thread.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .guild import (
    ADD_REACTIONS,
    ATTACH_FILES,
    CREATE_PUBLIC_THREADS,
    DEFAULT_EVERYONE_PERMISSIONS,
    EMBED_LINKS,
    MANAGE_GUILD,
    MANAGE_MESSAGES,
    READ_MESSAGE_HISTORY,
    ROLE_OVERWRITE,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    USE_APPLICATION_COMMANDS,
    VIEW_CHANNEL,
    Channel,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeOverwrite,
    FakeRole,
    FakeThread,
    FakeUser,
)

# Gateway intents (https://discord.com/developers/docs/events/gateway#gateway-intents).
GUILDS_INTENT = 1 << 0
GUILD_MEMBERS_INTENT = 1 << 1
GUILD_PRESENCES_INTENT = 1 << 8
GUILD_MESSAGES_INTENT = 1 << 9
DIRECT_MESSAGES_INTENT = 1 << 12
MESSAGE_CONTENT_INTENT = 1 << 15
PRIVILEGED_INTENTS = GUILD_MEMBERS_INTENT | GUILD_PRESENCES_INTENT | MESSAGE_CONTENT_INTENT

# Application flags Discord sets when a privileged intent is switched on for an unverified bot.
_GATEWAY_GUILD_MEMBERS_LIMITED = 1 << 15
_GATEWAY_MESSAGE_CONTENT_LIMITED = 1 << 19

BOT_ROLE_PERMISSIONS = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | SEND_MESSAGES_IN_THREADS
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | ADD_REACTIONS
    | USE_APPLICATION_COMMANDS
)
_DM_CHANNEL_OFFSET = 1000


@dataclass(frozen=True)
class World:
    """Everything the stand-in knows about: the bot user, its application and guilds."""

    bot: FakeUser
    application_owner: FakeUser
    guilds: tuple[FakeGuild, ...]
    strangers: tuple[FakeUser, ...] = ()
    application_name: str = "Article Bot"
    # Privileged intents switched on in the developer portal; others close the gateway with 4014.
    enabled_privileged_intents: int = GUILD_MEMBERS_INTENT | MESSAGE_CONTENT_INTENT
    # Threads started so far, by id (a thread's id is its starter message's); see the module doc.
    threads: dict[int, FakeThread] = field(default_factory=dict, compare=False, repr=False)

    @property
    def application_id(self) -> int:
        """The application id; for bots created since 2020 it equals the bot user's id."""
        return self.bot.id

    @property
    def guild(self) -> FakeGuild:
        """The first (usually only) guild."""
        return self.guilds[0]

    def users(self) -> list[FakeUser]:
        """Every known user, the bot first."""
        found = {self.bot.id: self.bot, self.application_owner.id: self.application_owner}
        for guild in self.guilds:
            for member in guild.members:
                found.setdefault(member.user.id, member.user)
        for user in self.strangers:
            found.setdefault(user.id, user)
        return list(found.values())

    def user(self, key: int | str) -> FakeUser:
        """A user by id or username."""
        for user in self.users():
            if key in (user.id, user.username):
                return user
        names = ", ".join(u.username for u in self.users())
        raise KeyError(f"no user {key!r} in the stand-in (users: {names})")

    def guild_by_id(self, guild_id: int) -> FakeGuild:
        """The guild with ``guild_id``."""
        for guild in self.guilds:
            if guild.id == guild_id:
                return guild
        raise KeyError(f"no guild {guild_id} in the stand-in")

    def dm_channel(self, user: FakeUser) -> FakeChannel:
        """The DM channel between ``user`` and the bot (fixed id: user id + 1000)."""
        return FakeChannel(id=user.id + _DM_CHANNEL_OFFSET, name=None, guild_id=None, recipient=user)

    def channel(self, key: int | str) -> Channel:
        """A guild channel by id or name, a DM channel by id, or a thread by id or name."""
        for guild in self.guilds:
            for channel in guild.channels:
                if key in (channel.id, channel.name):
                    return channel
        for user in self.users():
            if key == user.id + _DM_CHANNEL_OFFSET:
                return self.dm_channel(user)
        try:
            return self.thread(key)
        except KeyError:
            raise KeyError(f"no channel or thread {key!r} in the stand-in") from None

    def thread(self, key: int | str) -> FakeThread:
        """A thread by id or name (the newest of that name)."""
        if isinstance(key, int) and key in self.threads:
            return self.threads[key]
        for thread in reversed(self.threads.values()):
            if thread.name == key:
                return thread
        names = [thread.name for thread in self.threads.values()]
        raise KeyError(f"no thread {key!r} in the stand-in (threads: {names})")

    def active_threads(self, guild_id: int) -> list[FakeThread]:
        """The guild's threads that are not archived, oldest first."""
        return [t for t in self.threads.values() if t.guild_id == guild_id and not t.archived]

    def with_privileged_intents(self, intents: int) -> World:
        """A copy whose developer portal enables exactly ``intents`` (privileged bits only)."""
        return dataclasses.replace(self, enabled_privileged_intents=intents & PRIVILEGED_INTENTS)

    def application_flags(self) -> int:
        """The application's flags, as READY and ``/oauth2/applications/@me`` report them."""
        flags = 0
        if self.enabled_privileged_intents & GUILD_MEMBERS_INTENT:
            flags |= _GATEWAY_GUILD_MEMBERS_LIMITED
        if self.enabled_privileged_intents & MESSAGE_CONTENT_INTENT:
            flags |= _GATEWAY_MESSAGE_CONTENT_LIMITED
        return flags

    def application_payload(self) -> dict[str, Any]:
        """``GET /oauth2/applications/@me`` (``PrivateApplicationResponse``)."""
        flags = self.application_flags()
        return {
            "id": str(self.application_id),
            "name": self.application_name,
            "icon": None,
            "description": "Answers questions about a news article.",
            "type": None,
            "bot": self.bot.payload(),
            "bot_public": False,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": flags,
            "flags_new": str(flags),
            "tags": [],
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "role_connections_verification_url": None,
            "owner": self.application_owner.payload(),
            "approximate_guild_count": len(self.guilds),
            "approximate_user_install_count": 0,
            "approximate_user_authorization_count": 0,
            "explicit_content_filter": 0,
            "team": None,
            "eligible_oauth2_scopes": ["bot", "applications.commands"],
            "integration_types_config": {"0": {}},
        }


def default_world() -> World:
    """The bot in one guild, "Article Readers", with the cast described in the module doc."""
    guild_id = 1_200_000_000_000_000_100
    bot = FakeUser(1_200_000_000_000_000_001, "article-bot", None, bot=True, discriminator="4821")
    olivia = FakeUser(1_200_000_000_000_000_011, "olivia", "Olivia Owner")
    adam = FakeUser(1_200_000_000_000_000_012, "adam", "Adam Admin")
    mona = FakeUser(1_200_000_000_000_000_013, "mona", "Mona Moderator")
    rita = FakeUser(1_200_000_000_000_000_014, "rita", "Rita Reader")
    ned = FakeUser(1_200_000_000_000_000_015, "ned", None)
    dora = FakeUser(1_200_000_000_000_000_016, "dora", "Dora Direct")

    everyone = FakeRole(guild_id, "@everyone", DEFAULT_EVERYONE_PERMISSIONS, position=0)
    admin = FakeRole(guild_id + 1, "Admin", MANAGE_GUILD, position=3, color=0xE74C3C, hoist=True)
    moderator = FakeRole(guild_id + 2, "Moderator", MANAGE_MESSAGES, position=2, color=0x3498DB)
    bot_role = FakeRole(guild_id + 3, "Article Bot", BOT_ROLE_PERMISSIONS, 1, bot_id=bot.id)

    members = (
        FakeMember(olivia, (), joined_at="2023-11-02T09:15:00.000000+00:00"),
        FakeMember(adam, (admin.id,), joined_at="2023-11-02T09:20:00.000000+00:00"),
        FakeMember(mona, (moderator.id,), joined_at="2024-01-15T18:42:00.000000+00:00"),
        FakeMember(rita, (), joined_at="2024-05-06T07:30:00.000000+00:00"),
        FakeMember(ned, (), joined_at="2025-02-11T21:05:00.000000+00:00", nick="Ned"),
        FakeMember(bot, (bot_role.id,), joined_at="2025-06-01T10:00:00.000000+00:00"),
    )
    channels = (
        FakeChannel(guild_id + 10, "general", guild_id, position=0, topic=None),
        FakeChannel(guild_id + 11, "article-questions", guild_id, position=1, topic="Ask the article bot"),
        FakeChannel(
            guild_id + 12,
            "no-threads",
            guild_id,
            position=2,
            topic="Talk here; threads are switched off",
            overwrites=(FakeOverwrite(everyone.id, ROLE_OVERWRITE, deny=CREATE_PUBLIC_THREADS),),
        ),
    )
    guild = FakeGuild(
        id=guild_id,
        name="Article Readers",
        owner_id=olivia.id,
        roles=(everyone, admin, moderator, bot_role),
        members=members,
        channels=channels,
    )
    return World(bot=bot, application_owner=olivia, guilds=(guild,), strangers=(dora,))
