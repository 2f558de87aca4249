"""Interactions: building the ones users trigger, and the bot's answers to them.

Discord's rules are enforced and a breach is recorded as a problem (the fixture fails the test):
the first answer must come within ``deadline`` seconds (3 on Discord) else 404 Unknown
interaction; an interaction is answered once (40060); callback types must fit the interaction
(6/7 only for components and modals, 8 only for autocomplete, no modal for a modal); follow-ups
and ``@original`` need an acknowledged interaction, else 404 Unknown Webhook, and an autocomplete
interaction has no messages at all; autocomplete choices must have the focused option's type.
Files a user attaches to a command are kept by the CDN (``cdn.py``), which serves them back.

Callbacks are answered as with ``?with_response=true`` (discord.py always asks): an
``interaction`` summary, plus the created or updated message as ``resource`` for types 4 and 7.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .api import (
    ALREADY_ACKNOWLEDGED,
    INVALID_FORM_BODY,
    UNKNOWN_INTERACTION,
    UNKNOWN_MESSAGE,
    UNKNOWN_WEBHOOK,
    ApiError,
    Call,
    InvalidBody,
    ProtocolViolation,
    Reply,
    UploadedFile,
)
from .cdn import Cdn, Upload
from .commands import Commands
from .guild import Channel, FakeUser
from .messages import LOADING, Messages
from .payloads import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    CHAT_INPUT,
    CHAT_INPUT_COMMAND,
    CONTEXT_MENU_COMMAND,
    DEFAULT_MESSAGE,
    INTEGER,
    MESSAGE_COMMAND,
    MESSAGE_COMPONENT,
    MODAL_SUBMIT,
    NUMBER,
    STRING,
    USER_COMMAND,
    attachment_payloads,
    command_options,
    interaction_payload,
    message_payload,
)
from .snowflakes import Snowflakes
from .world import World

EPHEMERAL = 1 << 6
PONG, CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE = 1, 4, 5, 6, 7
AUTOCOMPLETE_RESULT, MODAL = 8, 9
_TEXT_INPUT = 4
_CHOICE_TYPES = {STRING: (str,), INTEGER: (int,), NUMBER: (int, float)}
_ALLOWED_CALLBACKS = {
    APPLICATION_COMMAND: {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, MODAL},
    MESSAGE_COMPONENT: {
        CHANNEL_MESSAGE,
        DEFERRED_CHANNEL_MESSAGE,
        DEFERRED_UPDATE,
        UPDATE_MESSAGE,
        MODAL,
    },
    AUTOCOMPLETE: {AUTOCOMPLETE_RESULT},
    MODAL_SUBMIT: {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE},
}


@dataclass
class SentInteraction:
    """An interaction the stand-in sent and everything the bot did with it.

    ``original`` and ``followups`` are the stored message dicts (edits show up in them);
    ``response_type`` is the callback type of the first answer (None until answered);
    ``callback_data`` is that answer's ``data``.
    """

    id: int
    token: str
    type: int
    payload: dict[str, Any]
    user: FakeUser
    channel: Channel
    created_at: float
    command_type: int | None = None
    target_message: dict[str, Any] | None = None  # the message a component sits on
    response_type: int | None = None
    responded_at: float | None = None
    callback_data: dict[str, Any] | None = None
    original: dict[str, Any] | None = None
    original_deleted: bool = False
    followups: list[dict[str, Any]] = field(default_factory=list)
    opened_by: SentInteraction | None = None  # for a modal submit: what the modal answered

    @property
    def acknowledged(self) -> bool:
        """Whether the bot has sent its first answer."""
        return self.response_type is not None

    @property
    def response_delay(self) -> float | None:
        """Seconds between sending the interaction and the bot's first answer."""
        return None if self.responded_at is None else self.responded_at - self.created_at

    @property
    def choices(self) -> list[dict[str, Any]] | None:
        """The choices an autocomplete interaction was answered with (None until answered)."""
        if self.response_type != AUTOCOMPLETE_RESULT:
            return None
        return list((self.callback_data or {}).get("choices") or [])

    @property
    def ephemeral(self) -> bool:
        """Whether the first answer was ephemeral."""
        return bool(self.original and self.original.get("flags", 0) & EPHEMERAL)


class Interactions:
    """Interactions by token, their builders, and the callback and webhook handlers."""

    def __init__(
        self,
        world: World,
        ids: Snowflakes,
        messages: Messages,
        commands: Commands,
        cdn: Cdn,
        *,
        deadline: float = 3.0,
    ) -> None:
        self.world = world
        self.by_token: dict[str, SentInteraction] = {}
        self.deadline = deadline
        self._ids = ids
        self._messages = messages
        self._commands = commands
        self._cdn = cdn

    # -- building (test side) -------------------------------------------------------------------

    def slash_command(
        self,
        name: str,
        options: Mapping[str, Any],
        *,
        user: FakeUser,
        channel: Channel,
        locale: str = "en-US",
    ) -> SentInteraction:
        """A chat-input command; ``name`` may include a subcommand ("article refresh"); an
        ``Upload`` value fills an attachment option."""
        data = self._chat_input_data(name, options, user, channel, focused=None)
        return self._new(APPLICATION_COMMAND, data, user, channel, locale, CHAT_INPUT)

    def autocomplete(
        self,
        name: str,
        options: Mapping[str, Any],
        *,
        focused: str,
        user: FakeUser,
        channel: Channel,
        locale: str = "en-US",
    ) -> SentInteraction:
        """The user typing into option ``focused`` of ``/name``: ``options`` hold what is typed
        so far (required ones may be missing), sent as strings as Discord does."""
        data = self._chat_input_data(name, options, user, channel, focused=focused)
        return self._new(AUTOCOMPLETE, data, user, channel, locale, CHAT_INPUT)

    def _chat_input_data(
        self,
        name: str,
        options: Mapping[str, Any],
        user: FakeUser,
        channel: Channel,
        *,
        focused: str | None,
    ) -> dict[str, Any]:
        root, *path = name.split()
        command = self._registered(root, CHAT_INPUT, channel)
        values = {
            key: self._cdn.store(value, channel.id) if isinstance(value, Upload) else value
            for key, value in options.items()
        }
        opts, resolved = command_options(
            command, path, values, self.world, user=user, channel=channel, focused=focused
        )
        data: dict[str, Any] = {
            "id": command["id"],
            "name": root,
            "type": CHAT_INPUT,
            "options": opts,
        }
        if resolved:
            data["resolved"] = resolved
        if command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        return data

    def message_command(
        self,
        name: str,
        target: Mapping[str, Any],
        *,
        user: FakeUser,
        channel: Channel,
        locale: str = "en-US",
    ) -> SentInteraction:
        """A message context-menu command on ``target`` (a stored message)."""
        command = self._registered(name, MESSAGE_COMMAND, channel)
        data: dict[str, Any] = {
            "id": command["id"],
            "name": name,
            "type": MESSAGE_COMMAND,
            "target_id": target["id"],
            "resolved": {"messages": {target["id"]: dict(target)}},
        }
        if command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        return self._new(APPLICATION_COMMAND, data, user, channel, locale, MESSAGE_COMMAND)

    def user_command(
        self,
        name: str,
        target: FakeUser,
        *,
        user: FakeUser,
        channel: Channel,
        locale: str = "en-US",
    ) -> SentInteraction:
        """A user context-menu command on ``target``."""
        command = self._registered(name, USER_COMMAND, channel)
        _, resolved = command_options(
            {"name": name, "options": [{"name": "target", "type": 6}]},
            [],
            {"target": target},
            self.world,
            user=user,
            channel=channel,
        )
        data: dict[str, Any] = {
            "id": command["id"],
            "name": name,
            "type": USER_COMMAND,
            "target_id": str(target.id),
            "resolved": resolved,
        }
        if command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        return self._new(APPLICATION_COMMAND, data, user, channel, locale, USER_COMMAND)

    def button_press(
        self, message: Mapping[str, Any], custom_id: str, *, user: FakeUser, locale: str = "en-US"
    ) -> SentInteraction:
        """A click on the button ``custom_id`` of ``message``, which must carry that button."""
        buttons = [c.get("custom_id") for c in _components(message.get("components") or [])]
        if custom_id not in buttons:
            raise ValueError(f"message {message['id']} has no button {custom_id!r} (has {buttons})")
        channel = self.world.channel(int(message["channel_id"]))
        data = {"custom_id": custom_id, "component_type": 2}
        sent = self._new(MESSAGE_COMPONENT, data, user, channel, locale, None, message=message)
        sent.target_message = self._messages.by_id.get(int(message["id"]), dict(message))
        return sent

    def modal_submit(
        self,
        opened_by: SentInteraction,
        values: Mapping[str, str | list[str]],
        *,
        locale: str = "en-US",
    ) -> SentInteraction:
        """The user submitting the modal ``opened_by`` was answered with, filled with ``values``
        (custom_id → text for text inputs, → chosen values for selects); the submitted
        components mirror the modal's rows and labels, as Discord sends them."""
        if opened_by.response_type != MODAL or opened_by.callback_data is None:
            raise ValueError(f"interaction {opened_by.id} was not answered with a modal")
        modal = opened_by.callback_data
        unknown = set(values) - {c.get("custom_id") for c in _components(modal.get("components") or [])}
        if unknown:
            raise ValueError(f"the modal has no inputs {sorted(unknown)}")
        counter = itertools.count(1)
        rows = [_submitted(component, values, counter) for component in modal.get("components") or []]
        data = {"custom_id": modal.get("custom_id"), "components": rows}
        sent = self._new(
            MODAL_SUBMIT,
            data,
            opened_by.user,
            opened_by.channel,
            locale,
            None,
            message=opened_by.target_message,
        )
        sent.opened_by = opened_by
        sent.target_message = opened_by.target_message
        return sent

    # -- REST handlers --------------------------------------------------------------------------

    def callback(self, call: Call) -> Reply:
        """POST /interactions/{interaction_id}/{interaction_token}/callback."""
        sent = self.by_token.get(call.params["interaction_token"])
        if sent is None or str(sent.id) != call.params["interaction_id"]:
            raise ProtocolViolation(
                404, UNKNOWN_INTERACTION, "Unknown interaction", "callback for an unknown interaction"
            )
        body = call.body or {}
        kind = body.get("type")
        late = time.monotonic() - sent.created_at
        if sent.acknowledged:
            raise ProtocolViolation(
                400,
                ALREADY_ACKNOWLEDGED,
                "Interaction has already been acknowledged.",
                f"interaction {sent.id} answered twice (callback type {kind})",
            )
        if late > self.deadline:
            raise ProtocolViolation(
                404,
                UNKNOWN_INTERACTION,
                "Unknown interaction",
                f"interaction {sent.id} answered after {late:.2f}s (limit {self.deadline}s)",
            )
        if kind not in _ALLOWED_CALLBACKS.get(sent.type, set()):
            raise ProtocolViolation(
                400,
                INVALID_FORM_BODY,
                "Invalid Form Body",
                f"callback type {kind} is not allowed for interaction type {sent.type}",
            )
        if kind == AUTOCOMPLETE_RESULT:
            _check_choice_types(sent, (body.get("data") or {}).get("choices") or [])
        sent.response_type = kind
        sent.responded_at = time.monotonic()
        sent.callback_data = body.get("data")
        return Reply(200, self._acknowledge(sent, kind, body.get("data") or {}, call.files))

    def execute(self, call: Call) -> Reply:
        """POST /webhooks/{application_id}/{token}: a follow-up message."""
        sent = self._acknowledged(call)
        body = call.body or {}
        message = self._response_message(sent, body, flags=body.get("flags") or 0, files=call.files)
        message["interaction_metadata"]["original_response_message_id"] = (
            sent.original["id"] if sent.original else None
        )
        if message["interaction_metadata"]["original_response_message_id"] is None:
            del message["interaction_metadata"]["original_response_message_id"]
        sent.followups.append(message)
        self._messages.add(message, sent.channel, announce=not message["flags"] & EPHEMERAL)
        wait = call.query.get("wait", "false").lower() in ("true", "1")
        return Reply(200, message) if wait else Reply(204)

    def get_message(self, call: Call) -> Reply:
        """GET /webhooks/{application_id}/{token}/messages/{@original or id}."""
        return Reply(200, self._webhook_message(call))

    def edit_message(self, call: Call) -> Reply:
        """PATCH /webhooks/{application_id}/{token}/messages/{@original or id}."""
        message = self._webhook_message(call)
        self._messages.edit(message, call.body or {}, self._channel_of(message), call.files)
        return Reply(200, message)

    def delete_message(self, call: Call) -> Reply:
        """DELETE /webhooks/{application_id}/{token}/messages/{@original or id}."""
        sent = self._acknowledged(call)
        message = self._webhook_message(call)
        self._messages.remove(message, self._channel_of(message))
        if message is sent.original:
            sent.original_deleted = True
        return Reply(204)

    # -- helpers ----------------------------------------------------------------------------------

    def _new(
        self,
        kind: int,
        data: dict[str, Any],
        user: FakeUser,
        channel: Channel,
        locale: str,
        command_type: int | None,
        *,
        message: Mapping[str, Any] | None = None,
    ) -> SentInteraction:
        interaction_id = self._ids.next()
        token = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48)
        payload = interaction_payload(
            world=self.world,
            interaction_id=interaction_id,
            token=token,
            interaction_type=kind,
            data=data,
            user=user,
            channel=channel,
            message=message,
            locale=locale,
        )
        sent = SentInteraction(
            interaction_id, token, kind, payload, user, channel, time.monotonic(), command_type
        )
        self.by_token[token] = sent
        return sent

    def _registered(self, name: str, command_type: int, channel: Channel) -> dict[str, Any]:
        command = self._commands.find(name, command_type, channel.guild_id)
        if command is None:
            where = "in DMs" if channel.guild_id is None else f"in guild {channel.guild_id}"
            raise LookupError(
                f"Discord would not offer command {name!r} (type {command_type}) {where}: "
                f"it is not registered there. Registered: {self._commands.describe()}"
            )
        return command

    def _acknowledge(
        self,
        sent: SentInteraction,
        kind: int,
        data: Mapping[str, Any],
        files: Sequence[UploadedFile],
    ) -> dict[str, Any]:
        summary: dict[str, Any] = {"id": str(sent.id), "type": sent.type}
        resource: dict[str, Any] | None = None
        if kind in (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE):
            flags = data.get("flags") or 0
            if kind == DEFERRED_CHANNEL_MESSAGE:
                flags |= LOADING
                data = {}
            message = self._response_message(sent, data, flags=flags, files=files)
            sent.original = message
            self._messages.add(message, sent.channel, announce=not flags & EPHEMERAL)
            summary.update(
                response_message_id=message["id"],
                response_message_loading=bool(flags & LOADING),
                response_message_ephemeral=bool(flags & EPHEMERAL),
            )
            if kind == CHANNEL_MESSAGE:
                resource = {"type": kind, "message": message}
        elif kind in (DEFERRED_UPDATE, UPDATE_MESSAGE) and sent.target_message is not None:
            sent.original = sent.target_message
            if kind == UPDATE_MESSAGE:
                self._messages.edit(sent.original, data, sent.channel, files)
                resource = {"type": kind, "message": sent.original}
            summary["response_message_id"] = sent.original["id"]
        result: dict[str, Any] = {"interaction": summary}
        if resource is not None:
            result["resource"] = resource
        return result

    def _response_message(
        self,
        sent: SentInteraction,
        body: Mapping[str, Any],
        *,
        flags: int,
        files: Sequence[UploadedFile] = (),
    ) -> dict[str, Any]:
        message_type = {
            CHAT_INPUT: CHAT_INPUT_COMMAND,
            USER_COMMAND: CONTEXT_MENU_COMMAND,
            MESSAGE_COMMAND: CONTEXT_MENU_COMMAND,
        }.get(sent.command_type or 0, DEFAULT_MESSAGE)
        metadata = _interaction_metadata(sent)
        return message_payload(
            message_id=self._ids.next(),
            channel=sent.channel,
            author=self.world.bot,
            content=body.get("content") or "",
            embeds=body.get("embeds") or (),
            components=body.get("components") or (),
            flags=flags,
            message_type=message_type,
            attachments=attachment_payloads(
                body.get("attachments") or [], files, channel_id=sent.channel.id, ids=self._ids
            ),
            extra={
                "webhook_id": str(self.world.application_id),
                "application_id": str(self.world.application_id),
                "interaction_metadata": metadata,
            },
        )

    def _acknowledged(self, call: Call) -> SentInteraction:
        sent = self.by_token.get(call.params["webhook_token"])
        if sent is None or call.params["webhook_id"] != str(self.world.application_id):
            raise ProtocolViolation(
                404, UNKNOWN_WEBHOOK, "Unknown Webhook", f"{call.method} {call.path}: unknown webhook"
            )
        if not sent.acknowledged:
            raise ProtocolViolation(
                404,
                UNKNOWN_WEBHOOK,
                "Unknown Webhook",
                f"{call.method} {call.path} before interaction {sent.id} was acknowledged",
            )
        if sent.type == AUTOCOMPLETE:
            raise ProtocolViolation(
                404,
                UNKNOWN_WEBHOOK,
                "Unknown Webhook",
                f"{call.method} {call.path}: autocomplete interaction {sent.id} has no messages",
            )
        return sent

    def _webhook_message(self, call: Call) -> dict[str, Any]:
        sent = self._acknowledged(call)
        wanted = call.params.get("message_id", "@original")
        if wanted == "@original" or (sent.original and sent.original["id"] == wanted):
            message = sent.original
        else:
            message = next((m for m in sent.followups if m["id"] == wanted), None)
        if message is None or int(message["id"]) not in self._messages.by_id:
            raise ApiError(404, UNKNOWN_MESSAGE, "Unknown Message")
        return message

    def _channel_of(self, message: Mapping[str, Any]) -> Channel:
        return self.world.channel(int(message["channel_id"]))


def _check_choice_types(sent: SentInteraction, choices: Sequence[Any]) -> None:
    """Discord refuses choices whose value is not of the focused option's type."""
    focused = _focused_option(sent.payload["data"].get("options") or [])
    if focused is None or focused["type"] not in _CHOICE_TYPES:
        return
    wanted = _CHOICE_TYPES[focused["type"]]
    errors = [
        f"data.choices[{index}].value: {choice.get('value')!r} does not fit option "
        f"{focused['name']!r} (type {focused['type']})"
        for index, choice in enumerate(choices)
        if isinstance(choice, Mapping)
        and (not isinstance(choice.get("value"), wanted) or isinstance(choice.get("value"), bool))
    ]
    if errors:
        raise InvalidBody(errors)


def _focused_option(options: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    for option in options:
        if option.get("focused"):
            return option
        found = _focused_option(option.get("options") or [])
        if found is not None:
            return found
    return None


def _interaction_metadata(sent: SentInteraction) -> dict[str, Any]:
    """The ``interaction_metadata`` Discord puts on messages answering ``sent``."""
    metadata: dict[str, Any] = {
        "id": str(sent.id),
        "type": sent.type,
        "user": sent.user.payload(),
        "authorizing_integration_owners": sent.payload["authorizing_integration_owners"],
    }
    if sent.command_type == MESSAGE_COMMAND:
        metadata["target_message_id"] = sent.payload["data"]["target_id"]
    if sent.command_type == USER_COMMAND:
        user_id = sent.payload["data"]["target_id"]
        metadata["target_user"] = sent.payload["data"]["resolved"]["users"][user_id]
    if sent.type == MESSAGE_COMPONENT and sent.target_message is not None:
        metadata["interacted_message_id"] = sent.target_message["id"]
    if sent.type == MODAL_SUBMIT and sent.opened_by is not None:
        metadata["triggering_interaction_metadata"] = _interaction_metadata(sent.opened_by)
    return metadata


def _submitted(
    component: Mapping[str, Any], values: Mapping[str, str | list[str]], counter: Iterator[int]
) -> dict[str, Any]:
    """One modal component as the submit interaction carries it: inputs with their values."""
    kind = component.get("type")
    data: dict[str, Any] = {"type": kind, "id": component.get("id") or next(counter)}
    if kind == _TEXT_INPUT:
        data.update(custom_id=component["custom_id"], value=values.get(component["custom_id"], ""))
    elif component.get("custom_id") is not None:  # selects and other value pickers
        chosen = values.get(component["custom_id"], [])
        data.update(custom_id=component["custom_id"], values=[chosen] if isinstance(chosen, str) else chosen)
    if "components" in component:
        data["components"] = [_submitted(c, values, counter) for c in component["components"]]
    if isinstance(component.get("component"), Mapping):
        data["component"] = _submitted(component["component"], values, counter)
    return data


def _components(components: list[Any]) -> list[Mapping[str, Any]]:
    found = []
    for component in components:
        if isinstance(component, Mapping):
            found.append(component)
            found.extend(_components(component.get("components") or []))
            if isinstance(component.get("component"), Mapping):
                found.extend(_components([component["component"]]))
    return found
