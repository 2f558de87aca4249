"""Answers in threads: a mention is answered in a new public thread named after the question where
the bot may start one, and in place otherwise; a question in a thread the bot started continues
that thread's conversation."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any
from unittest.mock import create_autospec

import discord
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.bot import ArticleBot
from bot.exts.qa._cog import QA
from bot.threads import AUTO_ARCHIVE_MINUTES, NAME_LIMIT, UNNAMED, thread_name
from tests.bot.discord_objects import ANSWERING, BOT_ID, USER_ID, make_message, pings_nobody
from tests.bot.fakes import FakeRetriever

MAY_THREAD = ANSWERING | discord.Permissions(create_public_threads=True, send_messages_in_threads=True)


def qa(bot: ArticleBot) -> QA:
    cog = bot.get_cog("QA")
    assert isinstance(cog, QA)
    return cog


def thread_of(message_id: int, *, owner_id: int = BOT_ID) -> Any:
    """The thread Discord starts from message `message_id`: it has the message's id."""
    thread = create_autospec(discord.Thread, instance=True)
    thread.id = message_id
    thread.owner_id = owner_id
    thread.parent_id = 444
    thread.send.return_value = SimpleNamespace(id=message_id + 1, channel=thread)
    return thread


def mention(text: str, *, message_id: int, may_thread: bool = True) -> Any:
    message = make_message(f"<@{BOT_ID}> {text}", bot_permissions=MAY_THREAD if may_thread else None)
    message.id = message_id
    message.reference = None
    message.create_thread.return_value = thread_of(message_id)
    message.channel.send.return_value = SimpleNamespace(id=message_id + 1, channel=message.channel)
    return message


def in_thread(thread: Any, text: str, *, message_id: int) -> Any:
    message = make_message(f"<@{BOT_ID}> {text}", channel_id=thread.id, parent_id=thread.parent_id)
    message.id = message_id
    message.reference = None
    message.channel = thread
    return message


@pytest.mark.parametrize(
    ("question", "name"),
    [
        ("when was the policy announced?", "when was the policy announced?"),
        ("  what   did\n<@123> say about <#456>?  ", "what did say about ?"),
        ("<@&789>", UNNAMED),
        ("word " * 30, ("word " * 19).strip() + "…"),
        ("x" * 150, "x" * 99 + "…"),
    ],
)
def test_a_thread_is_named_after_its_question(question: str, name: str) -> None:
    assert thread_name(question) == name


@given(st.text())
def test_a_thread_name_always_fits_discord(question: str) -> None:
    name = thread_name(question)
    assert 1 <= len(name) <= NAME_LIMIT
    assert name == name.strip()
    assert "\n" not in name


async def test_a_mention_is_answered_in_a_new_thread_named_after_the_question(
    article_bot: ArticleBot, fake: FakeRetriever
) -> None:
    message = mention("when was the policy announced?", message_id=100)
    await qa(article_bot).on_message(message)

    message.create_thread.assert_awaited_once_with(
        name="when was the policy announced?", auto_archive_duration=AUTO_ARCHIVE_MINUTES
    )
    thread = message.create_thread.return_value
    thread.send.assert_awaited_once()
    assert "embed" in thread.send.await_args.kwargs
    assert pings_nobody(thread.send.await_args.kwargs["allowed_mentions"])
    message.channel.send.assert_not_awaited()


async def test_a_question_in_the_bots_thread_follows_the_one_that_opened_it(
    article_bot: ArticleBot, fake: FakeRetriever
) -> None:
    cog = qa(article_bot)
    article_bot.cooldown.seconds = 0
    first = mention("who is the city solicitor?", message_id=100)
    await cog.on_message(first)
    thread = first.create_thread.return_value
    await cog.on_message(in_thread(thread, "when did he say it started?", message_id=200))
    await cog.on_message(in_thread(thread, "and who signed it?", message_id=300))

    assert fake.afters == [
        [],
        ["who is the city solicitor?"],
        ["who is the city solicitor?", "when did he say it started?"],
    ]


async def test_in_someone_elses_thread_the_bot_replies_in_place_with_no_context(
    article_bot: ArticleBot, fake: FakeRetriever
) -> None:
    cog = qa(article_bot)
    article_bot.cooldown.seconds = 0
    thread = thread_of(500, owner_id=USER_ID)
    first = in_thread(thread, "who is the city solicitor?", message_id=600)
    thread.send.return_value = SimpleNamespace(id=601, channel=thread)
    await cog.on_message(first)
    second = in_thread(thread, "when did he say it started?", message_id=700)
    await cog.on_message(second)

    first.create_thread.assert_not_awaited()
    assert thread.send.await_args.kwargs["reference"] is second.to_reference.return_value  # in place
    assert fake.afters == [[], []]


async def test_without_the_permission_the_answer_is_a_reply_in_place(
    article_bot: ArticleBot, fake: FakeRetriever
) -> None:
    message = mention("when was the policy announced?", message_id=100, may_thread=False)
    await qa(article_bot).on_message(message)

    message.create_thread.assert_not_awaited()
    assert message.channel.send.await_args.kwargs["reference"] is message.to_reference.return_value


async def test_with_thread_replies_off_the_answer_is_a_reply_in_place(
    article_bot: ArticleBot, fake: FakeRetriever
) -> None:
    article_bot.settings = article_bot.settings.model_copy(update={"thread_replies": False})
    message = mention("when was the policy announced?", message_id=100)
    await qa(article_bot).on_message(message)

    message.create_thread.assert_not_awaited()
    message.channel.send.assert_awaited_once()


async def test_when_discord_refuses_the_thread_the_answer_is_a_reply_in_place(
    article_bot: ArticleBot, fake: FakeRetriever
) -> None:
    message = mention("when was the policy announced?", message_id=100)
    refused = SimpleNamespace(status=400, reason="Bad Request")
    message.create_thread.side_effect = discord.HTTPException(
        refused, {"code": 160004, "message": "A thread has already been created for this message"}
    )
    await qa(article_bot).on_message(message)

    assert message.channel.send.await_args.kwargs["reference"] is message.to_reference.return_value
    assert "embed" in message.channel.send.await_args.kwargs
