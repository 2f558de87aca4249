"""Discord threads (channel threads, not OS threads: see ``threaded.py`` for those) started from
a message, by the bot over REST or by a person on the test side.

``POST /channels/{channel_id}/messages/{message_id}/threads`` behaves as Discord documents it
(https://discord.com/developers/docs/resources/channel#start-thread-from-message): a text channel
gives a public thread (type 11), an announcement channel an announcement thread (type 10); the
thread's id is the message's, so a message has at most one thread; ``auto_archive_duration``
defaults to 1440 whatever the channel's default (discord/discord-api-docs#3660); the creator is
its first member; the answer is 201 with the thread and the bot's thread member. Refusals:
unknown channel 10003 or message 10008 (404); a channel the bot cannot see 50001 (403); any other
channel type 50024 (400); no Create Public Threads 50013 (403); a second thread on a message
160004 (400).

Events, as documented ("Fires a Thread Create and a Message Update Gateway event"): THREAD_CREATE
(the thread with ``newly_created: true``, plus ``member`` when the bot is in it), then
THREAD_MEMBERS_UPDATE when the bot itself joined (Discord always sends it for the current user),
then MESSAGE_UPDATE of the starter message, which now has the ``thread`` and the HAS_THREAD flag.

Not modelled: private threads and threads without a message, forum posts, the THREAD_CREATED
system message Discord posts in the parent when the starter message is "older" (its threshold is
undocumented), THREAD_STARTER_MESSAGE, automatic archiving after inactivity, joining, leaving and
editing threads over REST, THREAD_LIST_SYNC and the active-thread limits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .api import (
    INVALID_CHANNEL_TYPE,
    MISSING_ACCESS,
    MISSING_PERMISSIONS,
    THREAD_ALREADY_CREATED,
    ApiError,
    Call,
    Emit,
    Reply,
)
from .guild import (
    ANNOUNCEMENT_CHANNEL,
    ANNOUNCEMENT_THREAD,
    CREATE_PUBLIC_THREADS,
    DEFAULT_AUTO_ARCHIVE_MINUTES,
    PUBLIC_THREAD,
    TEXT_CHANNEL,
    VIEW_CHANNEL,
    Channel,
    FakeChannel,
    FakeThread,
    FakeUser,
)
from .messages import HAS_THREAD, Messages
from .payloads import thread_create_event, thread_members_update_event
from .world import World

_THREAD_TYPES = {TEXT_CHANNEL: PUBLIC_THREAD, ANNOUNCEMENT_CHANNEL: ANNOUNCEMENT_THREAD}


class Threads:
    """Starting, archiving and finding threads; the REST handler that starts one."""

    def __init__(self, world: World, messages: Messages, emit: Emit) -> None:
        self.world = world
        self._messages = messages
        self._emit = emit

    def thread_of(self, message: Mapping[str, Any]) -> FakeThread | None:
        """The thread started from ``message``, if any."""
        return self.world.threads.get(int(message["id"]))

    def refusal(self, user: FakeUser, channel: Channel, message: Mapping[str, Any]) -> ApiError | None:
        """What Discord answers when ``user`` starts a thread from ``message`` in ``channel``;
        None when it may."""
        if channel.guild_id is None or isinstance(channel, FakeThread) or channel.type not in _THREAD_TYPES:
            return ApiError(400, INVALID_CHANNEL_TYPE, "Cannot execute action on this channel type")
        granted = self.world.guild_by_id(channel.guild_id).permissions(user.id, channel)
        if not granted & VIEW_CHANNEL:
            return ApiError(403, MISSING_ACCESS, "Missing Access")
        if not granted & CREATE_PUBLIC_THREADS:
            return ApiError(403, MISSING_PERMISSIONS, "Missing Permissions")
        if self.thread_of(message) is not None:
            return ApiError(400, THREAD_ALREADY_CREATED, "A thread has already been created for this message")
        return None

    def start(
        self,
        owner: FakeUser,
        channel: FakeChannel,
        message: dict[str, Any],
        name: str,
        *,
        auto_archive_duration: int = DEFAULT_AUTO_ARCHIVE_MINUTES,
        rate_limit_per_user: int = 0,
    ) -> FakeThread:
        """Start the thread (``refusal`` must have said yes) and send its events."""
        assert channel.guild_id is not None
        thread = FakeThread(
            id=int(message["id"]),
            name=name,
            guild_id=channel.guild_id,
            parent_id=channel.id,
            owner_id=owner.id,
            type=_THREAD_TYPES[channel.type],
            auto_archive_duration=auto_archive_duration,
            rate_limit_per_user=rate_limit_per_user,
        )
        thread.join(owner.id)
        self.world.threads[thread.id] = thread
        self._emit("THREAD_CREATE", thread_create_event(thread, self.world), guild_id=thread.guild_id)
        if owner.id == self.world.bot.id:
            added = thread_members_update_event(thread, self.world, [owner.id])
            self._emit("THREAD_MEMBERS_UPDATE", added, guild_id=thread.guild_id)
        message["flags"] = message.get("flags", 0) | HAS_THREAD
        message["thread"] = thread.payload(member_of=self.world.bot.id)
        self._messages.announce_update(message, channel)
        return thread

    def archive(self, thread: FakeThread, *, locked: bool = False) -> None:
        """Archive ``thread`` (and lock it: only moderators may reopen it) and send THREAD_UPDATE."""
        thread.set_archived(True, locked=locked)
        self._emit("THREAD_UPDATE", thread.payload(), guild_id=thread.guild_id)

    # -- REST handler ---------------------------------------------------------------------------

    def create_from_message(self, call: Call) -> Reply:
        """POST /channels/{channel_id}/messages/{message_id}/threads."""
        channel = self._messages.channel(call)
        message = self._messages.message(call)
        refused = self.refusal(self.world.bot, channel, message)
        if refused is not None:
            raise refused
        assert isinstance(channel, FakeChannel)
        body = call.body or {}
        thread = self.start(
            self.world.bot,
            channel,
            message,
            body["name"],
            auto_archive_duration=body.get("auto_archive_duration") or DEFAULT_AUTO_ARCHIVE_MINUTES,
            rate_limit_per_user=body.get("rate_limit_per_user") or 0,
        )
        return Reply(201, thread.payload(member_of=self.world.bot.id))
