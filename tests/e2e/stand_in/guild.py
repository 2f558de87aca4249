"""Users, roles, members, channels and guilds of the stand-in, and their Discord payloads.

Payload shapes follow the spec's response schemas (``UserResponse``, ``GuildRoleResponse``,
``GuildMemberResponse``, ``GuildChannelResponse``, ``GuildResponse``); a test validates them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
SEND_MESSAGES_IN_THREADS = 1 << 38
# What an app may do in a DM with its bot user, reported as ``app_permissions`` there.
DM_PERMISSIONS = (
    VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES | READ_MESSAGE_HISTORY | ADD_REACTIONS
)
# Every documented permission bit (bit 47 is unassigned), as Discord reports for owners/admins.
ALL_PERMISSIONS = 0x1F7FFFFFFFFFFF
# What a new guild's @everyone role gets today: no Administrator, Manage Server or Manage Messages.
DEFAULT_EVERYONE_PERMISSIONS = 2248473465835073

TEXT_CHANNEL = 0
DM_CHANNEL = 1


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
class FakeChannel:
    """A guild text channel (no permission overwrites) or, with ``guild_id`` None, a DM."""

    id: int
    name: str | None
    guild_id: int | None
    position: int = 0
    type: int = TEXT_CHANNEL
    topic: str | None = None
    recipient: FakeUser | None = None  # the other side of a DM

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
            "permission_overwrites": [],
        }


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

    def permissions(self, user_id: int) -> int:
        """The member's permissions: everything for the owner and administrators, otherwise
        @everyone OR'ed with their roles (channels have no overwrites)."""
        if user_id == self.owner_id:
            return ALL_PERMISSIONS
        value = self.everyone.permissions
        for role_id in self.member(user_id).role_ids:
            value |= self.role(role_id).permissions
        return ALL_PERMISSIONS if value & ADMINISTRATOR else value

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
        self, *, joined_at: str, members: tuple[FakeMember, ...] | None = None
    ) -> dict[str, Any]:
        """The GUILD_CREATE event: the guild plus what the gateway adds. ``members`` defaults
        to all of them; without GUILD_PRESENCES Discord sends only the bot's own."""
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
            "threads": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "lazy": True,
        }


def _without(data: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != key}
