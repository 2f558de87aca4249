"""Threads the bot answers in: their names, and where it may start one (pure functions)."""

from __future__ import annotations

import re

import discord

NAME_LIMIT = 100  # Discord's limit on a channel's name
AUTO_ARCHIVE_MINUTES = 1440  # a day without messages
UNNAMED = "Question about the article"

# Discord's markup for mentions, channels, roles, custom emoji and timestamps: unreadable as a name
_MARKUP = re.compile(r"<(?:@[!&]?|#|a?:\w+:|t:)[\w:-]*>")


def thread_name(question: str) -> str:
    """The question as a thread's name: mention markup taken out, whitespace collapsed, cut at a
    word to Discord's 100 characters with an ellipsis."""
    name = " ".join(_MARKUP.sub(" ", question).split())
    if not name:
        return UNNAMED
    if len(name) <= NAME_LIMIT:
        return name
    cut = name[: NAME_LIMIT - 1]
    if " " in cut[NAME_LIMIT // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:-") + "…"


def may_start_thread(permissions: discord.Permissions) -> bool:
    """Whether these (the bot's, in a channel) let it start a public thread and talk in it."""
    return permissions.create_public_threads and permissions.send_messages_in_threads


def starts_threads_in(channel: object) -> bool:
    """Whether `channel` is a kind a public thread can be started in from a message: a text or
    announcement channel; not a thread, a forum's post, a voice channel's chat or a DM."""
    return isinstance(channel, discord.TextChannel)
