"""Users, roles, members, channels, threads and guilds of the stand-in, and their Discord payloads.

Payload shapes follow the spec's response schemas (``UserResponse``, ``GuildRoleResponse``,
``GuildMemberResponse``, ``GuildChannelResponse``, ``ChannelPermissionOverwriteResponse``,
``ThreadResponse``, ``ThreadMemberResponse``, ``GuildResponse``); a test validates them.

Permissions in a channel follow Discord's documented algorithm
(https://discord.com/developers/docs/topics/permissions#permission-overwrites): the guild-level
base (@everyone OR the member's roles; everything for the owner and administrators), then the
channel's @everyone overwrite, the member's role overwrites together (deny, then allow), then the
member's own overwrite. A thread has no overwrites: permissions in it are its parent's. As in the
``permissions`` fields Discord sends, implicit denials (no View Channel, so nothing else) are not
folded in: a handler checks View Channel itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .snowflakes import iso_timestamp

# Permission bits (https://discord.com/developers/docs/topics/permissions).
ADD_REACTIONS = 1 << 6
ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_APPLICATION_COMMANDS = 1 << 31
MANAGE_THREADS = 1 << 34
CREATE_PUBLIC_THREADS = 1 << 35
CREATE_PRIVATE_THREADS = 1 << 36
SEND_MESSAGES_IN_THREADS = 1 << 38
# What an app may do in a DM with its bot user, reported as ``app_permissions`` there.
DM_PERMISSIONS = (
    VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES | READ_MESSAGE_HISTORY | ADD_REACTIONS
)
# Every documented permission bit (bit 47 is unassigned), as Discord reports for owners/admins.
ALL_PERMISSIONS = 0x1F7FFFFFFFFFFF
# What a new guild's @everyone role gets today: no Administrator, Manage Server or Manage Messages.
DEFAULT_EVERYONE_PERMISSIONS = 2248473465835073

# Channel types.
TEXT_CHANNEL = 0
DM_CHANNEL = 1
ANNOUNCEMENT_CHANNEL = 5
ANNOUNCEMENT_THREAD = 10
PUBLIC_THREAD = 11
# Overwrite types.
ROLE_OVERWRITE = 0
MEMBER_OVERWRITE = 1
# What Discord gives a thread created without ``auto_archive_duration``: one day, whatever the
# channel's default (https://github.com/discord/discord-api-docs/issues/3660).
DEFAULT_AUTO_ARCHIVE_MINUTES = 1440


@dataclass(frozen=True)
class FakeUser:
    """A Discord user; ``bot`` users keep a four-digit discriminator, people have ``"0"``."""

    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    discriminator: str = "0"

    def payload(self) -> dict[str, Any]:
        """The public user object (``UserResponse``)."""
        data: dict[str, Any] = {
            "id": str(self.id),
            "username": self.username,
            "avatar": None,
            "discriminator": self.discriminator,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "global_name": self.global_name,
            "avatar_decoration_data": None,
            "collectibles": None,
            "primary_guild": None,
        }
        if self.bot:
            data["bot"] = True
        return data

    def private_payload(self) -> dict[str, Any]:
        """``GET /users/@me`` and READY's ``user`` (``UserPIIResponse``)."""
        return {
            **self.payload(),
            "mfa_enabled": False,
            "locale": "en-US",
            "premium_type": 0,
            "email": None,
            "verified": True,
        }

    @property
    def mention(self) -> str:
        """``<@id>``, as a person types a mention."""
        return f"<@{self.id}>"


@dataclass(frozen=True)
class FakeRole:
    """A guild role; the @everyone role's id equals the guild id."""

    id: int
    name: str
    permissions: int
    position: int
    color: int = 0
    hoist: bool = False
    bot_id: int | None = None  # set for the role Discord manages for an installed bot

    def payload(self) -> dict[str, Any]:
        """The role object (``GuildRoleResponse``)."""
        return {
            "id": str(self.id),
            "name": self.name,
            "description": None,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": self.color,
            "colors": {"primary_color": self.color, "secondary_color": None, "tertiary_color": None},
            "hoist": self.hoist,
            "managed": self.bot_id is not None,
            "mentionable": False,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
            "tags": {} if self.bot_id is None else {"bot_id": str(self.bot_id)},
        }


@dataclass(frozen=True)
class FakeMember:
    """A user's membership of one guild."""

    user: FakeUser
    role_ids: tuple[int, ...] = ()
    joined_at: str = "2024-03-01T12:00:00.000000+00:00"
    nick: str | None = None

    def payload(self, *, with_user: bool = True) -> dict[str, Any]:
        """The member object (``GuildMemberResponse``); MESSAGE_CREATE omits ``user``."""
        data: dict[str, Any] = {
            "avatar": None,
            "banner": None,
            "communication_disabled_until": None,
            "flags": 0,
            "joined_at": self.joined_at,
            "nick": self.nick,
            "pending": False,
            "premium_since": None,
            "roles": [str(role_id) for role_id in self.role_ids],
            "mute": False,
            "deaf": False,
        }
        if with_user:
            data["user"] = self.user.payload()
        return data


@dataclass(frozen=True)
class FakeOverwrite:
    """A channel's permission overwrite for one role (``type`` 0; @everyone's id is the guild's)
    or one member (``type`` 1)."""

    id: int
    type: int
    allow: int = 0
    deny: int = 0

    def payload(self) -> dict[str, Any]:
        """The overwrite object (``ChannelPermissionOverwriteResponse``)."""
        return {"id": str(self.id), "type": self.type, "allow": str(self.allow), "deny": str(self.deny)}


@dataclass(frozen=True)
class FakeChannel:
    """A guild text (or announcement) channel with its overwrites or, with ``guild_id`` None, a DM."""

    id: int
    name: str | None
    guild_id: int | None
    position: int = 0
    type: int = TEXT_CHANNEL
    topic: str | None = None
    recipient: FakeUser | None = None  # the other side of a DM
    overwrites: tuple[FakeOverwrite, ...] = ()

    def payload(self) -> dict[str, Any]:
        """The channel object (``GuildChannelResponse`` or ``PrivateChannelResponse``)."""
        if self.guild_id is None:
            recipients = [] if self.recipient is None else [self.recipient.payload()]
            return {
                "id": str(self.id),
                "type": DM_CHANNEL,
                "last_message_id": None,
                "flags": 0,
                "recipients": recipients,
            }
        return {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "position": self.position,
            "flags": 0,
            "parent_id": None,
            "topic": self.topic,
            "nsfw": False,
            "rate_limit_per_user": 0,
            "last_message_id": None,
            "permission_overwrites": [overwrite.payload() for overwrite in self.overwrites],
        }


@dataclass(eq=False)
class FakeThread:
    """A public (or announcement) thread started from a message; its id is that message's.

    Unlike the other fakes a thread changes as things happen in it: its counters, its archive
    state and its members (user id → join timestamp) are updated in place.
    """

    id: int
    name: str
    guild_id: int
    parent_id: int
    owner_id: int
    type: int = PUBLIC_THREAD
    auto_archive_duration: int = DEFAULT_AUTO_ARCHIVE_MINUTES
    rate_limit_per_user: int = 0
    created_at: str = field(default_factory=iso_timestamp)
    archive_timestamp: str | None = None  # when archived was last changed; creation by default
    archived: bool = False
    locked: bool = False
    message_count: int = 0  # messages in the thread now (deletions count down)
    total_message_sent: int = 0  # messages ever sent
    last_message_id: int | None = None
    members: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.archive_timestamp is None:
            self.archive_timestamp = self.created_at

    def payload(self, *, member_of: int | None = None) -> dict[str, Any]:
        """The thread object (``ThreadResponse``); with ``member`` for ``member_of`` (the bot,
        usually) when that user has joined, as Discord adds it for the current user."""
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "parent_id": str(self.parent_id),
            "owner_id": str(self.owner_id),
            "name": self.name,
            "last_message_id": None if self.last_message_id is None else str(self.last_message_id),
            "flags": 0,
            "rate_limit_per_user": self.rate_limit_per_user,
            "thread_metadata": {
                "archived": self.archived,
                "auto_archive_duration": self.auto_archive_duration,
                "archive_timestamp": self.archive_timestamp,
                "locked": self.locked,
                "create_timestamp": self.created_at,
            },
            "message_count": self.message_count,
            "member_count": len(self.members),
            "total_message_sent": self.total_message_sent,
        }
        if member_of is not None and member_of in self.members:
            data["member"] = self.member_payload(member_of)
        return data

    def member_payload(self, user_id: int) -> dict[str, Any]:
        """``user_id``'s thread member object (``ThreadMemberResponse``)."""
        return {
            "id": str(self.id),
            "user_id": str(user_id),
            "join_timestamp": self.members[user_id],
            "flags": 0,
        }

    def guild_create_payload(self, bot_id: int) -> dict[str, Any]:
        """The thread inside GUILD_CREATE: like the guild's channels without ``guild_id``, and
        the bot's thread member without ``id`` and ``user_id``, as Discord documents it."""
        data = _without(self.payload(member_of=bot_id), "guild_id")
        if "member" in data:
            data["member"] = {k: v for k, v in data["member"].items() if k not in ("id", "user_id")}
        return data

    def join(self, user_id: int) -> bool:
        """Add ``user_id`` to the members (now); False when they were one already."""
        if user_id in self.members:
            return False
        self.members[user_id] = iso_timestamp()
        return True

    def count_message(self, message_id: int) -> None:
        """A message was sent in the thread."""
        self.message_count += 1
        self.total_message_sent += 1
        self.last_message_id = message_id

    def uncount_message(self) -> None:
        """A message in the thread was deleted: ``message_count`` goes down, the total does not."""
        self.message_count = max(0, self.message_count - 1)

    def set_archived(self, archived: bool, *, locked: bool | None = None) -> None:
        """Archive or unarchive (and lock or unlock), stamping ``archive_timestamp`` as Discord does."""
        self.archived = archived
        if locked is not None:
            self.locked = locked
        self.archive_timestamp = iso_timestamp()


# Where messages can be posted: a guild or DM channel, or a thread.
Channel = FakeChannel | FakeThread


@dataclass(frozen=True)
class FakeGuild:
    """A guild with roles, members and text channels."""

    id: int
    name: str
    owner_id: int
    roles: tuple[FakeRole, ...]
    members: tuple[FakeMember, ...]
    channels: tuple[FakeChannel, ...]
    preferred_locale: str = "en-US"
    features: tuple[str, ...] = field(default=())

    @property
    def everyone(self) -> FakeRole:
        """The @everyone role."""
        return self.role(self.id)

    def role(self, role_id: int) -> FakeRole:
        """The role with ``role_id``."""
        for role in self.roles:
            if role.id == role_id:
                return role
        raise KeyError(f"guild {self.name!r} has no role {role_id}")

    def member(self, user_id: int) -> FakeMember:
        """The member for ``user_id``; KeyError names the guild's members when absent."""
        for member in self.members:
            if member.user.id == user_id:
                return member
        names = ", ".join(m.user.username for m in self.members)
        raise KeyError(f"user {user_id} is not a member of {self.name!r} (members: {names})")

    def has_member(self, user_id: int) -> bool:
        """Whether ``user_id`` belongs to the guild."""
        return any(member.user.id == user_id for member in self.members)

    def channel(self, channel_id: int) -> FakeChannel:
        """The channel with ``channel_id``."""
        for channel in self.channels:
            if channel.id == channel_id:
                return channel
        raise KeyError(f"guild {self.name!r} has no channel {channel_id}")

    def base_permissions(self, user_id: int) -> int:
        """The member's guild-level permissions: everything for the owner and administrators,
        otherwise @everyone OR'ed with their roles."""
        if user_id == self.owner_id:
            return ALL_PERMISSIONS
        value = self.everyone.permissions
        for role_id in self.member(user_id).role_ids:
            value |= self.role(role_id).permissions
        return ALL_PERMISSIONS if value & ADMINISTRATOR else value

    def permissions(self, user_id: int, channel: Channel | None = None) -> int:
        """The member's permissions in ``channel`` (a thread: in its parent) after the channel's
        overwrites, or guild-wide without a channel; administrators bypass overwrites."""
        value = self.base_permissions(user_id)
        if channel is None or value & ADMINISTRATOR:
            return value
        if isinstance(channel, FakeThread):
            channel = self.channel(channel.parent_id)
        return apply_overwrites(
            value,
            channel.overwrites,
            everyone_id=self.id,
            role_ids=self.member(user_id).role_ids,
            user_id=user_id,
        )

    def partial_payload(self) -> dict[str, Any]:
        """The ``guild`` object inside an interaction."""
        return {"id": str(self.id), "locale": self.preferred_locale, "features": list(self.features)}

    def payload(self) -> dict[str, Any]:
        """The guild object (``GuildResponse``)."""
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "description": None,
            "home_header": None,
            "splash": None,
            "discovery_splash": None,
            "features": list(self.features),
            "banner": None,
            "owner_id": str(self.owner_id),
            "application_id": None,
            "region": "deprecated",
            "afk_channel_id": None,
            "afk_timeout": 300,
            "system_channel_id": str(self.channels[0].id) if self.channels else None,
            "system_channel_flags": 0,
            "widget_enabled": False,
            "widget_channel_id": None,
            "verification_level": 1,
            "roles": [role.payload() for role in self.roles],
            "default_message_notifications": 1,
            "mfa_level": 0,
            "explicit_content_filter": 2,
            "max_presences": None,
            "max_members": 500000,
            "max_stage_video_channel_users": 50,
            "max_video_channel_users": 25,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": self.preferred_locale,
            "rules_channel_id": None,
            "safety_alerts_channel_id": None,
            "public_updates_channel_id": None,
            "premium_progress_bar_enabled": False,
            "nsfw": False,
            "nsfw_level": 0,
            "emojis": [],
            "stickers": [],
            "incidents_data": None,
        }

    def create_payload(
        self,
        *,
        joined_at: str,
        members: tuple[FakeMember, ...] | None = None,
        threads: tuple[dict[str, Any], ...] = (),
    ) -> dict[str, Any]:
        """The GUILD_CREATE event: the guild plus what the gateway adds. ``members`` defaults
        to all of them; without GUILD_PRESENCES Discord sends only the bot's own. ``threads``
        are the active threads the bot can see, as ``FakeThread.guild_create_payload`` gives them."""
        members = self.members if members is None else members
        return {
            **self.payload(),
            "joined_at": joined_at,
            "large": False,
            "unavailable": False,
            "member_count": len(self.members),
            "voice_states": [],
            "members": [member.payload() for member in members],
            # Channels inside GUILD_CREATE carry no guild_id; the event's id implies it.
            "channels": [_without(c.payload(), "guild_id") for c in self.channels],
            "threads": list(threads),
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "lazy": True,
        }


def apply_overwrites(
    permissions: int,
    overwrites: tuple[FakeOverwrite, ...],
    *,
    everyone_id: int,
    role_ids: tuple[int, ...],
    user_id: int,
) -> int:
    """``permissions`` after ``overwrites`` in Discord's order: @everyone's, then the member's
    roles' together (deny, then allow), then the member's own."""
    by_key = {(overwrite.type, overwrite.id): overwrite for overwrite in overwrites}
    everyone = by_key.get((ROLE_OVERWRITE, everyone_id))
    if everyone is not None:
        permissions = (permissions & ~everyone.deny) | everyone.allow
    allow = deny = 0
    for role_id in role_ids:
        overwrite = by_key.get((ROLE_OVERWRITE, role_id))
        if overwrite is not None:
            allow |= overwrite.allow
            deny |= overwrite.deny
    permissions = (permissions & ~deny) | allow
    member = by_key.get((MEMBER_OVERWRITE, user_id))
    if member is not None:
        permissions = (permissions & ~member.deny) | member.allow
    return permissions


def _without(data: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != key}
