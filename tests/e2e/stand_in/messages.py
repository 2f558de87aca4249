"""Channel messages: what people post (test side) and what the bot sends, edits and deletes.

Discord's rules that catch real bugs are kept: an empty message is refused (50006), a reply to
an unknown message fails unless ``fail_if_not_exists`` is false, the bot may edit only its own
messages (50005) and may delete others' only with Manage Messages (50013). Permissions are the
bot's in the channel, after its overwrites; where it cannot see the channel at all the answer is
50001 Missing Access, as on Discord. The bot's own messages come back over the gateway as
MESSAGE_CREATE, as on Discord. A message a member posts has ``mention_everyone`` and
``mention_roles`` filled in as Discord does: only when the author may ping them (the Mention
@everyone, @here and All Roles permission in the channel).

Threads are channels here too (``/channels/{thread_id}/messages``), with Discord's thread rules:
the bot needs Send Messages in Threads in the parent instead of Send Messages; every message
counts (``message_count`` and ``total_message_sent``; a deletion lowers only the first); its
author joins the thread by posting (THREAD_MEMBERS_UPDATE); a message reopens an archived thread
(THREAD_UPDATE), but a locked, archived one refuses the bot without Manage Threads with 403 50083
"Thread is archived" (what Discord answers there, discord/discord-api-docs#7707). A message a
thread was started from carries that ``thread``, as it is now, whenever it is served.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .api import (
    CANNOT_EDIT_OTHERS_MESSAGE,
    CANNOT_SEND_EMPTY_MESSAGE,
    MISSING_ACCESS,
    MISSING_PERMISSIONS,
    THREAD_ARCHIVED,
    UNKNOWN_CHANNEL,
    UNKNOWN_MEMBER,
    UNKNOWN_MESSAGE,
    ApiError,
    Call,
    Emit,
    InvalidBody,
    Reply,
    UploadedFile,
)
from .guild import (
    MANAGE_MESSAGES,
    MANAGE_THREADS,
    MENTION_EVERYONE,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    VIEW_CHANNEL,
    Channel,
    FakeThread,
    FakeUser,
)
from .payloads import (
    REPLY,
    attachment_payloads,
    components_response,
    embed_response,
    gateway_message,
    message_payload,
    thread_members_update_event,
)
from .snowflakes import Snowflakes, iso_timestamp
from .world import World

log = logging.getLogger(__name__)

_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")
_EVERYONE_MENTION = re.compile(r"@(?:everyone|here)\b")
_EDITABLE = ("content", "embeds", "components", "flags")
SUPPRESS_EMBEDS = 1 << 2
HAS_THREAD = 1 << 5
LOADING = 1 << 7
_CONTENT_KEYS = ("content", "embeds", "components", "sticker_ids", "poll", "attachments")


class Messages:
    """Every message the stand-in knows, by id, with the REST handlers for channels."""

    def __init__(self, world: World, ids: Snowflakes, emit: Emit) -> None:
        self.world = world
        self.by_id: dict[int, dict[str, Any]] = {}
        self.typing: list[int] = []  # channel ids the bot triggered typing in
        self.reactions: list[tuple[int, str]] = []  # (message id, emoji) the bot added
        self._ids = ids
        self._emit = emit

    # -- test side ------------------------------------------------------------------------------

    def post(
        self,
        author: FakeUser,
        channel: Channel,
        content: str,
        *,
        reply_to: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Store a message ``author`` wrote (optionally replying to the message ``reply_to``)
        and send it as MESSAGE_CREATE; returns the stored message. ValueError if Discord would
        not let ``author`` post in a locked, archived thread."""
        extra: dict[str, Any] = {}
        if reply_to is not None:
            extra = self._reply_fields(channel, {"message_id": reply_to["id"]})
        if isinstance(channel, FakeThread):
            if self._locked_out(channel, author):
                locked = f"thread {channel.name!r} is locked and archived"
                raise ValueError(f"{locked}: {author.username} cannot post there")
            self._reopen(channel)
        message = message_payload(
            message_id=self._ids.next(),
            channel=channel,
            author=author,
            content=content,
            message_type=REPLY if reply_to is not None else 0,
            extra={
                "mentions": self._mentions(content),
                **self._group_mentions(author, channel, content),
                "nonce": str(self._ids.next()),
                **extra,
            },
        )
        self.add(message, channel)
        return message

    def add(self, message: dict[str, Any], channel: Channel, *, announce: bool = True) -> None:
        """Store ``message``; unless ``announce`` is false (an ephemeral message), send
        MESSAGE_CREATE, and in a thread count it and add its author to the members."""
        self.by_id[int(message["id"])] = message
        if not announce:
            return
        if isinstance(channel, FakeThread):
            self._record_in_thread(channel, message)
        self._emit(
            "MESSAGE_CREATE",
            gateway_message(message, self.world, channel),
            guild_id=channel.guild_id,
        )

    def announce_update(self, message: dict[str, Any], channel: Channel) -> None:
        """Send MESSAGE_UPDATE for ``message`` (not for an ephemeral one)."""
        if not message.get("flags", 0) & 64:
            self._emit(
                "MESSAGE_UPDATE",
                gateway_message(message, self.world, channel),
                guild_id=channel.guild_id,
            )

    def current(self, message: dict[str, Any]) -> dict[str, Any]:
        """``message`` with the thread started from it (if any) as it is now, the way Discord
        serves the ``thread`` field."""
        thread = self.world.threads.get(int(message["id"]))
        if thread is not None and "thread" in message:
            message["thread"] = thread.payload(member_of=self.world.bot.id)
        return message

    def in_channel(self, channel_id: int) -> list[dict[str, Any]]:
        """The channel's messages, oldest first."""
        return [m for m in self.by_id.values() if m["channel_id"] == str(channel_id)]

    def from_bot(self) -> list[dict[str, Any]]:
        """Every message the bot authored (channel messages and interaction responses)."""
        bot_id = str(self.world.bot.id)
        return [m for m in self.by_id.values() if m["author"]["id"] == bot_id]

    def edit(
        self,
        message: dict[str, Any],
        body: Mapping[str, Any],
        channel: Channel,
        files: Sequence[UploadedFile] = (),
    ) -> None:
        """Apply an edit body in place and send MESSAGE_UPDATE."""
        if body.get("attachments") is not None:
            message["attachments"] = attachment_payloads(
                body["attachments"],
                files,
                channel_id=channel.id,
                ids=self._ids,
                existing=message.get("attachments") or [],
            )
        was_loading = bool(message.get("flags", 0) & LOADING)
        for key in _EDITABLE:
            if key in body and body[key] is not None:
                value = body[key]
                if key == "embeds":
                    value = [embed_response(e) for e in value]
                elif key == "components":
                    value = components_response(value)
                elif key == "flags":
                    # Only SUPPRESS_EMBEDS may change on edit; ephemeral and the rest stay.
                    value = (message.get("flags", 0) & ~SUPPRESS_EMBEDS) | (value & SUPPRESS_EMBEDS)
                message[key] = value
        if was_loading:
            message["flags"] = message.get("flags", 0) & ~LOADING
        else:
            message["edited_timestamp"] = iso_timestamp()
        if "content" in body:
            message["mentions"] = self._mentions(message["content"])
        self.announce_update(message, channel)

    def remove(self, message: dict[str, Any], channel: Channel) -> None:
        """Forget ``message`` and send MESSAGE_DELETE (a thread counts one message fewer)."""
        del self.by_id[int(message["id"])]
        data = {"id": message["id"], "channel_id": message["channel_id"]}
        if channel.guild_id is not None:
            data["guild_id"] = str(channel.guild_id)
        if not message.get("flags", 0) & 64:
            if isinstance(channel, FakeThread):
                channel.uncount_message()
            self._emit("MESSAGE_DELETE", data, guild_id=channel.guild_id)

    # -- REST handlers --------------------------------------------------------------------------

    def get_channel(self, call: Call) -> Reply:
        """GET /channels/{channel_id}: only a channel the bot can see."""
        channel = self.channel(call)
        self.require(channel, VIEW_CHANNEL)
        return Reply(200, channel.payload())

    def create_dm(self, call: Call) -> Reply:
        """POST /users/@me/channels: the DM channel with ``recipient_id``."""
        try:
            user = self.world.user(int(call.body["recipient_id"]))
        except (KeyError, ValueError, TypeError):
            raise InvalidBody(["recipient_id: unknown user"]) from None
        return Reply(200, self.world.dm_channel(user).payload())

    def create(self, call: Call) -> Reply:
        """POST /channels/{channel_id}/messages; in a thread Send Messages in Threads is needed
        instead of Send Messages, and a locked, archived thread refuses (403 50083)."""
        channel = self.channel(call)
        if isinstance(channel, FakeThread):
            self.require(channel, VIEW_CHANNEL | SEND_MESSAGES_IN_THREADS)
            if self._locked_out(channel, self.world.bot):
                raise ApiError(403, THREAD_ARCHIVED, "Thread is archived")
        else:
            self.require(channel, VIEW_CHANNEL | SEND_MESSAGES)
        body = call.body or {}
        if not any(body.get(k) for k in _CONTENT_KEYS):
            raise ApiError(400, CANNOT_SEND_EMPTY_MESSAGE, "Cannot send an empty message")
        extra: dict[str, Any] = {}
        reference = body.get("message_reference")
        if reference:
            extra = self._reply_fields(channel, reference)
        if isinstance(channel, FakeThread):
            self._reopen(channel)
        message = message_payload(
            message_id=self._ids.next(),
            channel=channel,
            author=self.world.bot,
            content=body.get("content") or "",
            embeds=body.get("embeds") or (),
            components=body.get("components") or (),
            flags=body.get("flags") or 0,
            message_type=REPLY if extra.get("message_reference") else 0,
            attachments=attachment_payloads(
                body.get("attachments") or [], call.files, channel_id=channel.id, ids=self._ids
            ),
            extra={
                "mentions": self._mentions(body.get("content") or ""),
                **({"nonce": body["nonce"]} if body.get("nonce") is not None else {}),
                **extra,
            },
        )
        self.add(message, channel)
        return Reply(200, message)

    def get_one(self, call: Call) -> Reply:
        """GET /channels/{channel_id}/messages/{message_id}."""
        return Reply(200, self.current(self.message(call)))

    def list_recent(self, call: Call) -> Reply:
        """GET /channels/{channel_id}/messages: newest first, honouring ``limit``."""
        channel = self.channel(call)
        limit = int(call.query.get("limit", 50))
        newest_first = sorted(self.in_channel(channel.id), key=lambda m: -int(m["id"]))
        return Reply(200, [self.current(m) for m in newest_first[:limit]])

    def update(self, call: Call) -> Reply:
        """PATCH /channels/{channel_id}/messages/{message_id}: only the bot's own messages."""
        channel = self.channel(call)
        message = self.message(call)
        if message["author"]["id"] != str(self.world.bot.id):
            raise ApiError(403, CANNOT_EDIT_OTHERS_MESSAGE, "Cannot edit a message authored by another user")
        self.edit(message, call.body or {}, channel, call.files)
        return Reply(200, message)

    def delete(self, call: Call) -> Reply:
        """DELETE /channels/{channel_id}/messages/{message_id}: others' need Manage Messages."""
        channel = self.channel(call)
        message = self.message(call)
        if message["author"]["id"] != str(self.world.bot.id):
            self.require(channel, MANAGE_MESSAGES)
        self.remove(message, channel)
        return Reply(204)

    def trigger_typing(self, call: Call) -> Reply:
        """POST /channels/{channel_id}/typing."""
        self.typing.append(self.channel(call).id)
        return Reply(204)

    def add_reaction(self, call: Call) -> Reply:
        """PUT /channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}/@me."""
        message = self.message(call)
        self.reactions.append((int(message["id"]), call.params["emoji_name"]))
        return Reply(204)

    def remove_reaction(self, call: Call) -> Reply:
        """DELETE /channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}/@me."""
        key = (int(self.message(call)["id"]), call.params["emoji_name"])
        if key in self.reactions:
            self.reactions.remove(key)
        return Reply(204)

    def get_member(self, call: Call) -> Reply:
        """GET /guilds/{guild_id}/members/{user_id}."""
        try:
            guild = self.world.guild_by_id(call.param_id("guild_id"))
            return Reply(200, guild.member(call.param_id("user_id")).payload())
        except KeyError:
            raise ApiError(404, UNKNOWN_MEMBER, "Unknown Member") from None

    # -- lookups ----------------------------------------------------------------------------------

    def channel(self, call: Call) -> Channel:
        """The channel (or thread) named by the call's ``channel_id``, or Discord's 404."""
        try:
            return self.world.channel(call.param_id("channel_id"))
        except KeyError:
            raise ApiError(404, UNKNOWN_CHANNEL, "Unknown Channel") from None

    def message(self, call: Call) -> dict[str, Any]:
        """The message named by ``message_id`` in ``channel_id``, or Discord's 404."""
        message = self.by_id.get(call.param_id("message_id"))
        if message is None or message["channel_id"] != call.params["channel_id"]:
            raise ApiError(404, UNKNOWN_MESSAGE, "Unknown Message")
        return message

    def require(self, channel: Channel, permissions: int) -> None:
        """Refuse as Discord does unless the bot has ``permissions`` in ``channel``: 50001
        Missing Access when it cannot even see the channel, else 50013 Missing Permissions."""
        if channel.guild_id is None:
            return
        guild = self.world.guild_by_id(channel.guild_id)
        granted = guild.permissions(self.world.bot.id, channel)
        if not granted & VIEW_CHANNEL:
            raise ApiError(403, MISSING_ACCESS, "Missing Access")
        if granted & permissions != permissions:
            raise ApiError(403, MISSING_PERMISSIONS, "Missing Permissions")

    def _locked_out(self, thread: FakeThread, user: FakeUser) -> bool:
        """Whether ``user`` may not post in ``thread``: it is locked and archived, and they lack
        Manage Threads (only moderators may reopen a locked thread)."""
        if not (thread.locked and thread.archived):
            return False
        guild = self.world.guild_by_id(thread.guild_id)
        return not guild.permissions(user.id, thread) & MANAGE_THREADS

    def _reopen(self, thread: FakeThread) -> None:
        """Sending a message unarchives a thread, as on Discord; THREAD_UPDATE says so."""
        if thread.archived:
            thread.set_archived(False)
            self._emit("THREAD_UPDATE", thread.payload(), guild_id=thread.guild_id)

    def _record_in_thread(self, thread: FakeThread, message: Mapping[str, Any]) -> None:
        """Count ``message`` in ``thread``; its author joins the thread by posting (Discord adds
        them automatically), announced with THREAD_MEMBERS_UPDATE. Webhook messages (interaction
        answers) join no one."""
        thread.count_message(int(message["id"]))
        author_id = int(message["author"]["id"])
        if "webhook_id" not in message and thread.join(author_id):
            self._emit(
                "THREAD_MEMBERS_UPDATE",
                thread_members_update_event(thread, self.world, [author_id]),
                guild_id=thread.guild_id,
            )

    def _reply_fields(self, channel: Channel, reference: Mapping[str, Any]) -> dict[str, Any]:
        referenced = self.by_id.get(int(reference.get("message_id", 0)))
        if referenced is None or referenced["channel_id"] != str(channel.id):
            if reference.get("fail_if_not_exists", True):
                raise InvalidBody(["message_reference: Unknown message"])
            return {}
        data = {"type": 0, "channel_id": str(channel.id), "message_id": referenced["id"]}
        if channel.guild_id is not None:
            data["guild_id"] = str(channel.guild_id)
        nested = {k: v for k, v in referenced.items() if k != "referenced_message"}
        return {"message_reference": data, "referenced_message": nested}

    def _group_mentions(self, author: FakeUser, channel: Channel, content: str) -> dict[str, Any]:
        """``mention_everyone`` and ``mention_roles`` of a member's message: Discord sets them
        only for mentions that ping, i.e. when the author has Mention @everyone, @here and All
        Roles (the stand-in's roles are not mentionable by everyone)."""
        if channel.guild_id is None:
            return {}
        guild = self.world.guild_by_id(channel.guild_id)
        may_ping = guild.has_member(author.id) and bool(
            guild.permissions(author.id, channel) & MENTION_EVERYONE
        )
        roles: list[str] = []
        for role_id in dict.fromkeys(int(m) for m in _ROLE_MENTION.findall(content)):
            if may_ping and any(role.id == role_id for role in guild.roles):
                roles.append(str(role_id))
        return {
            "mention_everyone": may_ping and _EVERYONE_MENTION.search(content) is not None,
            "mention_roles": roles,
        }

    def _mentions(self, content: str) -> list[dict[str, Any]]:
        found = []
        for user_id in dict.fromkeys(int(m) for m in _MENTION.findall(content)):
            try:
                found.append(self.world.user(user_id).payload())
            except KeyError:
                log.debug("Mention of unknown user %s left out", user_id)
        return found
