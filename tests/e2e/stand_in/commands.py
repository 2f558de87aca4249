"""Application commands: stored per scope (global or one guild) as Discord stores them.

A bulk overwrite (PUT) replaces the scope's list; a command keeps its id when a command of the
same name and type existed before, as on Discord. Discord's own rules that the spec cannot
express are enforced with 400 Invalid Form Body: lower-case chat-input names, descriptions only
on chat-input commands, required options before optional ones, unique names per type.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from .api import MISSING_ACCESS, UNKNOWN_APPLICATION_COMMAND, ApiError, Call, InvalidBody, Reply
from .payloads import CHAT_INPUT, SUB_COMMAND, SUB_COMMAND_GROUP
from .snowflakes import Snowflakes
from .world import World

_NAME = re.compile(r"^[-_'\w]{1,32}$")
_ALL_CONTEXTS = [0, 1, 2]


class Commands:
    """Registered commands: ``scopes[None]`` is global, ``scopes[guild_id]`` a guild's."""

    def __init__(self, world: World, ids: Snowflakes) -> None:
        self.world = world
        self.scopes: dict[int | None, list[dict[str, Any]]] = {}
        self._ids = ids

    def find(self, name: str, command_type: int, guild_id: int | None) -> dict[str, Any] | None:
        """The command a user in ``guild_id`` (None: a DM) would pick: guild first, then global."""
        scopes = [guild_id, None] if guild_id is not None else [None]
        for scope in scopes:
            for command in self.scopes.get(scope, []):
                if command["name"] == name and command["type"] == command_type:
                    if scope is None and guild_id is None and not _usable_in_dms(command):
                        continue
                    return command
        return None

    def describe(self) -> str:
        """Every registered command, for error messages."""
        parts = []
        for scope, commands in self.scopes.items():
            where = "global" if scope is None else f"guild {scope}"
            parts.extend(f"{c['name']!r} (type {c['type']}, {where})" for c in commands)
        return ", ".join(parts) or "none"

    # -- REST handlers --------------------------------------------------------------------------

    def list_scope(self, call: Call) -> Reply:
        """GET .../commands."""
        return Reply(200, self.scopes.get(self._scope(call), []))

    def bulk_overwrite(self, call: Call) -> Reply:
        """PUT .../commands."""
        scope = self._scope(call)
        bodies = call.body or []
        _check_unique(bodies)
        old = {(c["name"], c["type"]): c for c in self.scopes.get(scope, [])}
        commands = []
        for body in bodies:
            previous = old.get((body["name"], body.get("type", CHAT_INPUT)))
            command_id = int(previous["id"]) if previous else self._ids.next()
            commands.append(self._command(body, scope, command_id))
        self.scopes[scope] = commands
        return Reply(200, commands)

    def create(self, call: Call) -> Reply:
        """POST .../commands: upsert one command by name and type."""
        scope = self._scope(call)
        body = call.body or {}
        existing = self.scopes.setdefault(scope, [])
        key = (body.get("name"), body.get("type", CHAT_INPUT))
        for index, command in enumerate(existing):
            if (command["name"], command["type"]) == key:
                existing[index] = self._command(body, scope, int(command["id"]))
                return Reply(200, existing[index])
        command = self._command(body, scope, self._ids.next())
        existing.append(command)
        return Reply(201, command)

    def get_one(self, call: Call) -> Reply:
        """GET .../commands/{command_id}."""
        return Reply(200, self._existing(call)[1])

    def update(self, call: Call) -> Reply:
        """PATCH .../commands/{command_id}."""
        scope, command = self._existing(call)
        merged = {**command, **(call.body or {})}
        updated = self._command(merged, scope, int(command["id"]))
        commands = self.scopes[scope]
        commands[commands.index(command)] = updated
        return Reply(200, updated)

    def delete(self, call: Call) -> Reply:
        """DELETE .../commands/{command_id}."""
        scope, command = self._existing(call)
        self.scopes[scope].remove(command)
        return Reply(204)

    # -- helpers ----------------------------------------------------------------------------------

    def _scope(self, call: Call) -> int | None:
        if call.param_id("application_id") != self.world.application_id:
            raise ApiError(403, MISSING_ACCESS, "Missing Access")
        return call.param_id("guild_id") if "guild_id" in call.params else None

    def _existing(self, call: Call) -> tuple[int | None, dict[str, Any]]:
        scope = self._scope(call)
        for command in self.scopes.get(scope, []):
            if command["id"] == call.params["command_id"]:
                return scope, command
        raise ApiError(404, UNKNOWN_APPLICATION_COMMAND, "Unknown application command")

    def _command(self, body: Mapping[str, Any], scope: int | None, command_id: int) -> dict[str, Any]:
        errors = command_errors(body)
        if errors:
            raise InvalidBody(errors)
        command_type = body.get("type", CHAT_INPUT)
        permissions = body.get("default_member_permissions")
        command: dict[str, Any] = {
            "id": str(command_id),
            "application_id": str(self.world.application_id),
            "version": str(self._ids.next()),
            "default_member_permissions": None if permissions is None else str(permissions),
            "type": command_type,
            "name": body["name"],
            "name_localizations": body.get("name_localizations"),
            "description": body.get("description") or "",
            "description_localizations": body.get("description_localizations"),
            "nsfw": bool(body.get("nsfw", False)),
        }
        if scope is None:
            contexts = body.get("contexts")
            command["dm_permission"] = body.get("dm_permission", True) is not False
            command["contexts"] = contexts if contexts is not None else _ALL_CONTEXTS
            command["integration_types"] = body.get("integration_types") or [0]
        else:
            command["guild_id"] = str(scope)
        if body.get("options"):
            command["options"] = [dict(option) for option in body["options"]]
        return command


def command_errors(body: Mapping[str, Any]) -> list[str]:
    """Discord's rules for one command body that the OpenAPI schema cannot state."""
    errors = []
    name = body.get("name", "")
    command_type = body.get("type", CHAT_INPUT)
    description = body.get("description") or ""
    if command_type == CHAT_INPUT:
        if not _NAME.match(name) or name != name.lower():
            errors.append(f"name {name!r}: chat-input names are 1-32 lower-case word characters")
        if not 1 <= len(description) <= 100:
            errors.append(f"/{name}: description must be 1-100 characters")
        errors.extend(_option_errors(body.get("options") or [], f"/{name}"))
    elif description:
        errors.append(f"{name!r}: user and message commands must have an empty description")
    return errors


def _option_errors(options: Sequence[Mapping[str, Any]], where: str) -> list[str]:
    errors = []
    seen_optional = False
    for option in options:
        name = option.get("name", "")
        here = f"{where} {name}"
        if not _NAME.match(name) or name != name.lower():
            errors.append(f"{here}: option names are 1-32 lower-case word characters")
        if not 1 <= len(option.get("description") or "") <= 100:
            errors.append(f"{here}: description must be 1-100 characters")
        if option.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP):
            errors.extend(_option_errors(option.get("options") or [], here))
            continue
        if option.get("required"):
            if seen_optional:
                errors.append(f"{here}: required options must come before optional ones")
        else:
            seen_optional = True
        if len(option.get("choices") or []) > 25:
            errors.append(f"{here}: at most 25 choices")
    names = [o.get("name") for o in options]
    if len(names) != len(set(names)):
        errors.append(f"{where}: option names must be unique")
    return errors


def _check_unique(bodies: Sequence[Mapping[str, Any]]) -> None:
    keys = [(b.get("name"), b.get("type", CHAT_INPUT)) for b in bodies]
    duplicates = sorted({f"{n!r} (type {t})" for n, t in keys if keys.count((n, t)) > 1})
    if duplicates:
        raise InvalidBody([f"command names must be unique per type: {', '.join(duplicates)}"])


def _usable_in_dms(command: Mapping[str, Any]) -> bool:
    contexts = command.get("contexts")
    if contexts is not None:
        return 1 in contexts
    return command.get("dm_permission", True) is not False
