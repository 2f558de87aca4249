"""The question log as the Discord layer feeds it: every answered question recorded once (how it was
asked, from where, by whom — hashed by the log), and the Helpful / Not helpful buttons and form."""

from __future__ import annotations

import re
from typing import Any

import discord
import pytest

from bot import rendering
from bot.bot import ArticleBot
from bot.exts.qa._cog import QA
from bot.exts.qa._feedback import Feedback, WhatWasMissing
from insights.recording import QuestionRecord, VoteRecord
from tests.bot.discord_objects import BOT_ID, CHANNEL_ID, GUILD_ID, USER_ID, make_interaction, make_message
from tests.bot.fakes import FakeRetriever

QUESTION = "when does the contract expire?"
ANSWER_ID = re.compile(r"[0-9a-f]{16}")


class FakeLog:
    """Keeps what the bot hands the question log, in order."""

    def __init__(self) -> None:
        self.questions: list[QuestionRecord] = []
        self.votes: list[VoteRecord] = []

    def record_question(self, record: QuestionRecord) -> None:
        self.questions.append(record)

    def record_vote(self, vote: VoteRecord) -> None:
        self.votes.append(vote)

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass


@pytest.fixture
def log(article_bot: ArticleBot) -> FakeLog:
    article_bot.question_log = FakeLog()  # type: ignore[assignment]
    return article_bot.question_log  # type: ignore[return-value]


def qa(bot: ArticleBot) -> QA:
    cog = bot.get_cog("QA")
    assert isinstance(cog, QA)
    return cog


def feedback_buttons(view: discord.ui.View) -> list[Feedback]:
    return [child for child in view.children if isinstance(child, Feedback)]


async def test_a_mention_is_recorded_once_and_its_reply_carries_the_feedback_buttons(
    article_bot: ArticleBot, log: FakeLog, fake: FakeRetriever
) -> None:
    message = make_message(f"<@{BOT_ID}> {QUESTION}")
    await qa(article_bot).on_message(message)

    [record] = log.questions
    assert ANSWER_ID.fullmatch(record.answer_id)
    assert (record.via, record.question, record.confidence) == ("mention", QUESTION, "high")
    assert (record.guild_id, record.channel_id, record.user_id) == (GUILD_ID, CHANNEL_ID, USER_ID)
    assert list(record.passages) == [("article.txt", 3)] * 3  # the fake passages' source
    assert record.latency_ms >= 0
    reply = message.channel.send.await_args.kwargs
    up, down = feedback_buttons(reply["view"])
    assert (up.item.label, up.item.custom_id) == ("Helpful", f"feedback:{record.answer_id}:up")
    assert (down.item.label, down.item.custom_id) == ("Not helpful", f"feedback:{record.answer_id}:down")
    labels = [child.item.label for child in reply["view"].children]
    assert labels == ["More passages", "Helpful", "Not helpful"]


async def test_a_dm_is_recorded_without_a_guild(article_bot: ArticleBot, log: FakeLog) -> None:
    await qa(article_bot).on_message(make_message(QUESTION, dm=True))
    [record] = log.questions
    assert (record.via, record.guild_id) == ("dm", None)


async def test_ask_and_the_message_command_are_recorded_with_how_they_asked(
    article_bot: ArticleBot, log: FakeLog
) -> None:
    await QA.ask.callback(qa(article_bot), make_interaction(article_bot), QUESTION)
    interaction = make_interaction(article_bot)
    await qa(article_bot).ask_about_message(interaction, make_message(QUESTION))
    assert [record.via for record in log.questions] == ["slash", "menu"]
    reply = interaction.response.send_message.await_args.kwargs
    assert len(feedback_buttons(reply["view"])) == 2


async def test_nothing_is_recorded_and_no_feedback_is_offered_without_a_log(
    article_bot: ArticleBot, fake: FakeRetriever
) -> None:
    message = make_message(f"<@{BOT_ID}> {QUESTION}")
    await qa(article_bot).on_message(message)
    assert feedback_buttons(message.channel.send.await_args.kwargs["view"]) == []


async def test_helpful_records_the_vote_and_thanks_privately(article_bot: ArticleBot, log: FakeLog) -> None:
    interaction = make_interaction(article_bot)
    await Feedback("0123456789abcdef", helpful=True).callback(interaction)

    [vote] = log.votes
    assert (vote.answer_id, vote.user_id) == ("0123456789abcdef", USER_ID)
    assert (vote.helpful, vote.comment) == (True, None)
    call = interaction.response.send_message.await_args
    assert (call.args, call.kwargs["ephemeral"]) == ((rendering.THANKS_HELPFUL,), True)


async def test_not_helpful_records_the_vote_then_asks_what_was_missing(
    article_bot: ArticleBot, log: FakeLog
) -> None:
    interaction = make_interaction(article_bot)
    await Feedback("0123456789abcdef", helpful=False).callback(interaction)

    [vote] = log.votes
    assert (vote.helpful, vote.comment) == (False, None)  # kept even if the form is never sent
    [form] = interaction.response.send_modal.await_args.args
    assert isinstance(form, WhatWasMissing)
    assert form.wanted.max_length == 200
    assert form.wanted.required is False

    form.wanted._value = "  how long   the contract ran  "  # what Discord sends back
    submitted = make_interaction(article_bot)
    await form.on_submit(submitted)
    assert (log.votes[-1].helpful, log.votes[-1].comment) == (False, "how long the contract ran")
    call = submitted.response.send_message.await_args
    assert (call.args, call.kwargs["ephemeral"]) == ((rendering.THANKS_NOT_HELPFUL,), True)


async def test_a_button_press_is_rebuilt_from_its_custom_id_after_a_restart(article_bot: ArticleBot) -> None:
    match = re.fullmatch(Feedback.__discord_ui_compiled_template__, "feedback:0123456789abcdef:down")
    assert match is not None
    item: Any = await Feedback.from_custom_id(make_interaction(article_bot), None, match)  # type: ignore[arg-type]
    assert (item.answer_id, item.helpful) == ("0123456789abcdef", False)
