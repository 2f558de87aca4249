"""Message, interaction and thread-event payloads as Discord sends them; pure functions over the world.

Shapes follow the spec's ``MessageResponse`` and Discord's interaction object (checked against
discord.py's ``Interaction._from_data``, which requires ``attachment_size_limit``, ``version``,
``token`` and ``application_id``); thread events follow Discord's gateway documentation.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .api import UploadedFile
from .guild import (
    DM_CHANNEL,
    DM_PERMISSIONS,
    Channel,
    FakeChannel,
    FakeRole,
    FakeThread,
    FakeUser,
)
from .snowflakes import Snowflakes, iso_timestamp
from .world import World

# Interaction types and contexts (https://discord.com/developers/docs/interactions/receiving-and-responding).
APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
AUTOCOMPLETE = 4
MODAL_SUBMIT = 5
CONTEXT_GUILD = 0
CONTEXT_BOT_DM = 1
GUILD_INSTALL = "0"

# Application command and option types.
CHAT_INPUT = 1
USER_COMMAND = 2
MESSAGE_COMMAND = 3
SUB_COMMAND = 1
SUB_COMMAND_GROUP = 2
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER = 3, 4, 5, 6, 7, 8, 9, 10
ATTACHMENT = 11

# Message types.
DEFAULT_MESSAGE = 0
REPLY = 19
CHAT_INPUT_COMMAND = 20
CONTEXT_MENU_COMMAND = 23

ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024  # a guild without boosts


def message_payload(
    *,
    message_id: int,
    channel: Channel,
    author: FakeUser,
    content: str = "",
    embeds: Sequence[Mapping[str, Any]] = (),
    components: Sequence[Mapping[str, Any]] = (),
    flags: int = 0,
    message_type: int = DEFAULT_MESSAGE,
    attachments: Sequence[Mapping[str, Any]] = (),
    timestamp: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A message object (``MessageResponse``); ``extra`` adds fields such as
    ``message_reference``, ``webhook_id`` or ``interaction_metadata``."""
    data: dict[str, Any] = {
        "type": message_type,
        "content": content,
        "mentions": [],
        "mention_roles": [],
        "attachments": [dict(a) for a in attachments],
        "embeds": [embed_response(embed) for embed in embeds],
        "timestamp": timestamp or iso_timestamp(),
        "edited_timestamp": None,
        "flags": flags,
        "components": components_response(components),
        "id": str(message_id),
        "channel_id": str(channel.id),
        "author": author.payload(),
        "pinned": False,
        "mention_everyone": False,
        "tts": False,
    }
    data.update(extra or {})
    return data


def attachment_payloads(
    requested: Sequence[Mapping[str, Any]],
    files: Sequence[UploadedFile],
    *,
    channel_id: int,
    ids: Snowflakes,
    existing: Sequence[Mapping[str, Any]] = (),
) -> list[dict[str, Any]]:
    """The ``attachments`` of a sent or edited message: entries of ``requested`` that name an
    existing attachment are kept, the others describe ``files[n]`` uploads."""
    kept = {a["id"]: dict(a) for a in existing}
    uploads = {f.field: f for f in files}
    result = []
    for entry in requested:
        if str(entry.get("id")) in kept:
            result.append(kept[str(entry["id"])])
            continue
        upload = uploads.get(f"files[{entry.get('id')}]")
        if upload is None:
            continue
        attachment_id = ids.next()
        filename = entry.get("filename") or upload.filename
        url = f"https://cdn.discordapp.com/attachments/{channel_id}/{attachment_id}/{filename}"
        data = {
            "id": str(attachment_id),
            "filename": filename,
            "size": len(upload.data),
            "url": url,
            "proxy_url": url.replace("cdn.discordapp.com", "media.discordapp.net"),
            "content_type": upload.content_type,
        }
        if entry.get("description"):
            data["description"] = entry["description"]
        result.append(data)
    return result


def embed_response(embed: Mapping[str, Any]) -> dict[str, Any]:
    """An embed as Discord returns it: ``type`` "rich" and no null fields."""
    data = {key: value for key, value in embed.items() if value is not None}
    data.setdefault("type", "rich")
    if "fields" in data:
        data["fields"] = [{"inline": False, **f} for f in data["fields"]]
    return data


def components_response(components: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Components as Discord returns them: null fields dropped (a unicode emoji's null ``id`` too),
    and every component numbered with an ``id`` (depth first, from 1) unless the bot chose one."""
    counter = itertools.count(1)

    def number(component: Mapping[str, Any]) -> dict[str, Any]:
        data = {k: v for k, v in component.items() if v is not None}
        data.setdefault("id", next(counter))
        if isinstance(data.get("emoji"), Mapping):
            data["emoji"] = {k: v for k, v in data["emoji"].items() if v is not None}
        if "components" in data:
            data["components"] = [number(child) for child in data["components"]]
        for key in ("accessory", "component"):
            if isinstance(data.get(key), Mapping):
                data[key] = number(data[key])
        return data

    return [number(component) for component in components]


def gateway_message(message: Mapping[str, Any], world: World, channel: Channel) -> dict[str, Any]:
    """MESSAGE_CREATE data: the message plus ``guild_id`` and the author's ``member``."""
    data = dict(message)
    if channel.guild_id is not None:
        guild = world.guild_by_id(channel.guild_id)
        author_id = int(message["author"]["id"])
        data["guild_id"] = str(guild.id)
        if guild.has_member(author_id) and "webhook_id" not in message:
            data["member"] = guild.member(author_id).payload(with_user=False)
    return data


def interaction_payload(
    *,
    world: World,
    interaction_id: int,
    token: str,
    interaction_type: int,
    data: Mapping[str, Any] | None,
    user: FakeUser,
    channel: Channel,
    message: Mapping[str, Any] | None = None,
    locale: str = "en-US",
) -> dict[str, Any]:
    """An INTERACTION_CREATE payload: ``member`` with the user's permissions in the channel (after
    its overwrites) in a guild, ``user`` in a DM, plus the fields discord.py requires."""
    payload: dict[str, Any] = {
        "id": str(interaction_id),
        "application_id": str(world.application_id),
        "type": interaction_type,
        "token": token,
        "version": 1,
        "locale": locale,
        "entitlements": [],
        "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
    }
    if data is not None:
        payload["data"] = dict(data)
    if message is not None:
        payload["message"] = dict(message)
    if channel.guild_id is None:
        payload.update(
            channel=channel.payload(),
            channel_id=str(channel.id),
            user=user.payload(),
            context=CONTEXT_BOT_DM,
            # "0" as the guild-install owner means: in a DM with the app's bot user.
            authorizing_integration_owners={GUILD_INSTALL: "0"},
            app_permissions=str(DM_PERMISSIONS),
        )
        return payload
    guild = world.guild_by_id(channel.guild_id)
    permissions = str(guild.permissions(user.id, channel))
    payload.update(
        guild_id=str(guild.id),
        guild=guild.partial_payload(),
        guild_locale=guild.preferred_locale,
        channel={**channel.payload(), "permissions": permissions},
        channel_id=str(channel.id),
        member={**guild.member(user.id).payload(), "permissions": permissions},
        context=CONTEXT_GUILD,
        authorizing_integration_owners={GUILD_INSTALL: str(guild.id)},
        app_permissions=str(guild.permissions(world.bot.id, channel)),
    )
    return payload


def command_options(
    command: Mapping[str, Any],
    path: Sequence[str],
    values: Mapping[str, Any],
    world: World,
    *,
    user: FakeUser,
    channel: Channel,
    focused: str | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The ``options`` and ``resolved`` of a chat-input (or autocomplete) interaction.

    ``path`` names subcommand group/subcommand below ``command``; ``values`` maps option names
    to Python values (``FakeUser``, ``FakeChannel`` and ``FakeRole`` for those option types, an
    attachment object from ``Cdn.store`` for attachments); ``user`` runs the command in
    ``channel``, which decides the permissions of resolved members and channels. With
    ``focused``, the options of an autocomplete interaction: required ones may be missing,
    string, integer and number values are sent as typed (strings), and the focused option, which
    must have autocomplete on, carries ``"focused": true``. Raises ValueError naming the option
    when a value does not fit the registered command.
    """
    definitions = command.get("options") or []
    if path:
        sub = _find_option(definitions, path[0], (SUB_COMMAND, SUB_COMMAND_GROUP), command)
        inner, resolved = command_options(
            sub, path[1:], values, world, user=user, channel=channel, focused=focused
        )
        return [{"name": sub["name"], "type": sub["type"], "options": inner}], resolved
    if any(o.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP) for o in definitions):
        names = [o["name"] for o in definitions]
        raise ValueError(f"/{command['name']} needs a subcommand, one of {names}")
    if focused is not None:
        _check_focused(_find_option(definitions, focused, None, command), values, command)
    options: list[dict[str, Any]] = []
    resolved: dict[str, Any] = {}
    invocation = _Invocation(world, user, channel)
    for name, value in values.items():
        definition = _find_option(definitions, name, None, command)
        option = _option(definition, value, resolved, invocation, typed=focused is not None)
        if name == focused:
            option["focused"] = True
        options.append(option)
    missing = [o["name"] for o in definitions if o.get("required") and o["name"] not in values]
    if missing and focused is None:
        raise ValueError(f"/{command['name']} requires options {missing}")
    return options, resolved


def _check_focused(
    definition: Mapping[str, Any], values: Mapping[str, Any], command: Mapping[str, Any]
) -> None:
    """Discord asks for completions only of a string, integer or number option with autocomplete
    on, and sends what the user has typed into it so far."""
    name = definition["name"]
    if definition.get("type") not in (STRING, INTEGER, NUMBER) or not definition.get("autocomplete"):
        raise ValueError(f"/{command['name']} option {name!r} has no autocomplete: Discord would not ask")
    if name not in values:
        raise ValueError(f"the focused option {name!r} needs a value: what the user typed so far")


def _find_option(
    definitions: Sequence[Mapping[str, Any]],
    name: str,
    types: tuple[int, ...] | None,
    command: Mapping[str, Any],
) -> Mapping[str, Any]:
    for option in definitions:
        if option["name"] == name and (types is None or option["type"] in types):
            return option
    known = [o["name"] for o in definitions]
    raise ValueError(f"/{command['name']} has no option {name!r} (options: {known})")


def _option(
    definition: Mapping[str, Any],
    value: Any,
    resolved: dict[str, Any],
    invocation: _Invocation,
    *,
    typed: bool,
) -> dict[str, Any]:
    kind = definition["type"]
    name = definition["name"]
    if kind == ATTACHMENT and isinstance(value, Mapping) and "id" in value:
        resolved.setdefault("attachments", {})[str(value["id"])] = dict(value)
        return {"name": name, "type": kind, "value": str(value["id"])}
    typed_in = kind in (STRING, INTEGER, NUMBER) and not isinstance(value, bool)
    if typed and typed_in and isinstance(value, str | int | float):
        # Autocomplete sends text as typed, unchecked: "12a" may sit in an integer option.
        return {"name": name, "type": kind, "value": str(value)}
    if kind in (USER, MENTIONABLE) and isinstance(value, FakeUser):
        resolved.setdefault("users", {})[str(value.id)] = value.payload()
        member = _resolved_member(value, invocation)
        if member is not None:
            resolved.setdefault("members", {})[str(value.id)] = member
        return {"name": name, "type": kind, "value": str(value.id)}
    if kind == CHANNEL and isinstance(value, FakeChannel | FakeThread):
        resolved.setdefault("channels", {})[str(value.id)] = _resolved_channel(value, invocation)
        return {"name": name, "type": kind, "value": str(value.id)}
    if kind in (ROLE, MENTIONABLE) and isinstance(value, FakeRole):
        resolved.setdefault("roles", {})[str(value.id)] = value.payload()
        return {"name": name, "type": kind, "value": str(value.id)}
    expected = {STRING: str, INTEGER: int, BOOLEAN: bool, NUMBER: (int, float)}.get(kind)
    if (
        expected is None
        or not isinstance(value, expected)
        or (kind in (INTEGER, NUMBER) and isinstance(value, bool))
    ):
        raise ValueError(f"option {name!r} (type {kind}) cannot take {value!r}")
    return {"name": name, "type": kind, "value": value}


@dataclass(frozen=True)
class _Invocation:
    """Who runs a command where: what resolved members' and channels' permissions depend on."""

    world: World
    user: FakeUser
    channel: Channel


def _resolved_member(user: FakeUser, invocation: _Invocation) -> dict[str, Any] | None:
    """A resolved member: their permissions in the channel the command ran in; None outside
    that channel's guild (a DM has no members)."""
    channel = invocation.channel
    if channel.guild_id is None:
        return None
    guild = invocation.world.guild_by_id(channel.guild_id)
    if not guild.has_member(user.id):
        return None
    member = guild.member(user.id).payload(with_user=False)
    member["permissions"] = str(guild.permissions(user.id, channel))
    return member


def _resolved_channel(channel: Channel, invocation: _Invocation) -> dict[str, Any]:
    """A resolved (partial) channel: ``permissions`` are the invoking user's in it,
    ``app_permissions`` the bot's; a thread's carries its ``thread_metadata`` and counts."""
    world = invocation.world
    if isinstance(channel, FakeThread):
        guild = world.guild_by_id(channel.guild_id)
        return {
            **channel.payload(),
            "permissions": str(guild.permissions(invocation.user.id, channel)),
            "app_permissions": str(guild.permissions(world.bot.id, channel)),
        }
    data = {"id": str(channel.id), "name": channel.name, "type": channel.type, "flags": 0}
    if channel.type != DM_CHANNEL and channel.guild_id is not None:
        guild = world.guild_by_id(channel.guild_id)
        data.update(
            guild_id=str(guild.id),
            permissions=str(guild.permissions(invocation.user.id, channel)),
            app_permissions=str(guild.permissions(world.bot.id, channel)),
            position=channel.position,
            nsfw=False,
            rate_limit_per_user=0,
            parent_id=None,
            last_message_id=None,
            topic=channel.topic,
        )
    return data


# -- thread events ----------------------------------------------------------------------------------


def thread_create_event(thread: FakeThread, world: World) -> dict[str, Any]:
    """THREAD_CREATE for a new thread: the thread with ``newly_created``, and the bot's thread
    member when the bot is in it (its own thread)."""
    return {**thread.payload(member_of=world.bot.id), "newly_created": True}


def thread_members_update_event(thread: FakeThread, world: World, added: Sequence[int]) -> dict[str, Any]:
    """THREAD_MEMBERS_UPDATE for users ``added`` to ``thread``: each thread member carries the
    guild member and a null presence, as Discord documents for this event."""
    guild = world.guild_by_id(thread.guild_id)
    members = [
        {**thread.member_payload(user_id), "member": guild.member(user_id).payload(), "presence": None}
        for user_id in added
    ]
    return {
        "id": str(thread.id),
        "guild_id": str(thread.guild_id),
        "member_count": len(thread.members),
        "added_members": members,
    }
