"""The QA cog: mentions, DMs, /ask, the message command, /about and the "More passages" button."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import discord
import pytest

from bot import rendering
from bot.article_choice import autocomplete_articles
from bot.async_retriever import Busy
from bot.bot import ArticleBot
from bot.exts.qa._cog import QA, within_cooldown
from bot.exts.qa._more import MorePassages
from bot.tree import AskingTooFast
from tests.bot.conftest import Clock
from tests.bot.discord_objects import (
    BOT_ID,
    BOT_ROLE_ID,
    CHANNEL_ID,
    OTHER_USER_ID,
    make_interaction,
    make_member,
    make_message,
    pings_nobody,
)
from tests.bot.fakes import FakeRetriever, answer
from tests.bot.limits import limit_problems

QUESTION = "when does the contract expire?"


def qa(bot: ArticleBot) -> QA:
    cog = bot.get_cog("QA")
    assert isinstance(cog, QA)
    return cog


def sent(message: Any) -> dict[str, Any]:
    """The keyword arguments of the one message the bot sent in reply."""
    message.channel.send.assert_awaited_once()
    return message.channel.send.await_args.kwargs


def assert_quiet_reply(message: Any, reply: dict[str, Any]) -> None:
    assert reply["mention_author"] is False
    assert pings_nobody(reply["allowed_mentions"])
    message.to_reference.assert_called_once_with(fail_if_not_exists=False)
    assert reply["reference"] is message.to_reference.return_value


def assert_told_privately(interaction: Any, text: str) -> None:
    interaction.response.send_message.assert_awaited_once()
    call = interaction.response.send_message.await_args
    assert call.args == (text,)
    assert call.kwargs["ephemeral"] is True
    assert pings_nobody(call.kwargs["allowed_mentions"])


# -- mentions and DMs ---------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", [f"<@{BOT_ID}>", f"<@!{BOT_ID}>", f"<@&{BOT_ROLE_ID}>"])
async def test_mention_gets_a_quiet_reply_with_the_answer(
    article_bot: ArticleBot, fake: FakeRetriever, prefix: str
) -> None:
    role_mentions = (BOT_ROLE_ID,) if "&" in prefix else ()
    mentions = () if "&" in prefix else (BOT_ID,)
    message = make_message(f"{prefix} {QUESTION}", mentions=mentions, role_mentions=role_mentions)
    await qa(article_bot).on_message(message)
    reply = sent(message)
    assert fake.asked == [QUESTION]
    assert reply["embed"].title == QUESTION
    assert_quiet_reply(message, reply)
    [button] = reply["view"].children
    assert button.item.label == "More passages"


async def test_answer_with_one_passage_has_no_button(article_bot: ArticleBot, fake: FakeRetriever) -> None:
    article_bot.retriever.k = 1
    message = make_message(f"<@{BOT_ID}> {QUESTION}")
    await qa(article_bot).on_message(message)
    assert "view" not in sent(message)


async def test_messages_from_bots_are_ignored(article_bot: ArticleBot, fake: FakeRetriever) -> None:
    for author in (make_member(OTHER_USER_ID, bot=True), make_member(BOT_ID, bot=True)):
        message = make_message(f"<@{BOT_ID}> {QUESTION}", author=author)
        await qa(article_bot).on_message(message)
        message.channel.send.assert_not_awaited()
    assert fake.asked == []


async def test_everyone_and_here_without_naming_the_bot_are_ignored(
    article_bot: ArticleBot, fake: FakeRetriever
) -> None:
    for content in (f"@everyone {QUESTION}", f"@here {QUESTION}", f"<@{OTHER_USER_ID}> {QUESTION}"):
        message = make_message(content, mentions=(OTHER_USER_ID,) if "<@" in content else ())
        message.mention_everyone = "<@" not in content
        await qa(article_bot).on_message(message)
        message.channel.send.assert_not_awaited()
    assert fake.asked == []


async def test_system_messages_are_ignored(article_bot: ArticleBot, fake: FakeRetriever) -> None:
    message = make_message(f"<@{BOT_ID}> pinned a message")
    message.type = discord.MessageType.pins_add
    await qa(article_bot).on_message(message)
    message.channel.send.assert_not_awaited()


@pytest.mark.parametrize("content", [f"<@{BOT_ID}>", f"<@{BOT_ID}> help", f"<@{BOT_ID}>  hi!"])
async def test_bare_mention_gets_help(article_bot: ArticleBot, fake: FakeRetriever, content: str) -> None:
    message = make_message(content)
    await qa(article_bot).on_message(message)
    reply = sent(message)
    assert reply["content"] == rendering.help_text("ArticleBot")
    assert_quiet_reply(message, reply)
    assert fake.asked == []


async def test_dm_needs_no_mention(article_bot: ArticleBot, fake: FakeRetriever) -> None:
    message = make_message(QUESTION, mentions=(), dm=True)
    await qa(article_bot).on_message(message)
    assert sent(message)["embed"].title == QUESTION


async def test_answer_channel_allow_list(article_bot: ArticleBot, fake: FakeRetriever) -> None:
    settings = article_bot.settings
    article_bot.settings = type(settings)(token="t", answer_channel_ids=frozenset({CHANNEL_ID}))
    elsewhere = make_message(f"<@{BOT_ID}> {QUESTION}", channel_id=1)
    listed = make_message(f"<@{BOT_ID}> {QUESTION}", author=make_member(1))
    thread = make_message(
        f"<@{BOT_ID}> {QUESTION}", author=make_member(2), channel_id=2, parent_id=CHANNEL_ID
    )
    dm = make_message(QUESTION, author=make_member(3), mentions=(), dm=True, channel_id=3)
    for message in (elsewhere, listed, thread, dm):
        await qa(article_bot).on_message(message)
    elsewhere.channel.send.assert_not_awaited()
    for message in (listed, thread, dm):
        message.channel.send.assert_awaited_once()


async def test_mention_over_the_cooldown_gets_a_reaction_not_a_reply(
    article_bot: ArticleBot, fake: FakeRetriever, clock: Clock
) -> None:
    first = make_message(f"<@{BOT_ID}> {QUESTION}")
    again = make_message(f"<@{BOT_ID}> and then?")
    other = make_message(f"<@{BOT_ID}> who?", author=make_member(OTHER_USER_ID))
    for message in (first, again, other):
        await qa(article_bot).on_message(message)
    first.channel.send.assert_awaited_once()
    again.channel.send.assert_not_awaited()
    again.add_reaction.assert_awaited_once_with("⏳")
    other.channel.send.assert_awaited_once()  # other users are unaffected
    clock.now += 3
    later = make_message(f"<@{BOT_ID}> and then?")
    await qa(article_bot).on_message(later)
    later.channel.send.assert_awaited_once()
    assert fake.asked == [QUESTION, "who?", "and then?"]


async def test_reaction_failure_is_not_an_error(article_bot: ArticleBot, clock: Clock) -> None:
    await qa(article_bot).on_message(make_message(f"<@{BOT_ID}> {QUESTION}"))
    again = make_message(f"<@{BOT_ID}> {QUESTION}")
    again.add_reaction.side_effect = discord.Forbidden(_response(403), "Missing Permissions")
    await qa(article_bot).on_message(again)  # no exception
    again.channel.send.assert_not_awaited()


async def test_busy_is_said_politely(article_bot: ArticleBot, monkeypatch: pytest.MonkeyPatch) -> None:
    async def busy(question: str, **_: object) -> None:
        raise Busy

    monkeypatch.setattr(article_bot.retriever, "ask", busy)
    message = make_message(f"<@{BOT_ID}> {QUESTION}")
    await qa(article_bot).on_message(message)
    assert sent(message)["content"] == rendering.BUSY


async def test_owner_commands_are_not_answered(
    article_bot: ArticleBot, fake: FakeRetriever, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def owner_command(message: Any) -> object:
        return object()

    monkeypatch.setattr(article_bot, "owner_command", owner_command)
    message = make_message(f"<@{BOT_ID}> sync")
    await qa(article_bot).on_message(message)
    message.channel.send.assert_not_awaited()
    assert fake.asked == []


async def test_non_owner_commands_are_questions(article_bot: ArticleBot, fake: FakeRetriever) -> None:
    message = make_message(f"<@{BOT_ID}> sync")  # USER_ID is not the owner
    assert await article_bot.owner_command(message) is None
    await qa(article_bot).on_message(message)
    assert fake.asked == ["sync"]


# -- /ask and the message command ---------------------------------------------------------------


async def test_ask_replies_directly_when_the_answer_is_quick(
    article_bot: ArticleBot, fake: FakeRetriever
) -> None:
    interaction = make_interaction(article_bot)
    await QA.ask.callback(qa(article_bot), interaction, QUESTION)
    interaction.response.defer.assert_not_awaited()
    interaction.response.send_message.assert_awaited_once()
    reply = interaction.response.send_message.await_args.kwargs
    assert reply["ephemeral"] is False
    assert reply["embed"].title == QUESTION
    assert pings_nobody(reply["allowed_mentions"])
    assert fake.asked == [QUESTION]


@pytest.mark.parametrize(
    "given", ["aquarium.md", "Springfield Opens Its New Aquarium", "springfield opens its new aquarium "]
)
async def test_ask_of_one_article_asks_that_article_alone(
    article_bot: ArticleBot, fake: FakeRetriever, given: str
) -> None:
    interaction = make_interaction(article_bot)
    await QA.ask.callback(qa(article_bot), interaction, QUESTION, article=given)
    assert interaction.response.send_message.await_args.kwargs["embed"].title == QUESTION
    assert (fake.asked, fake.articles) == ([QUESTION], ["aquarium.md"])


async def test_ask_of_an_article_that_is_not_there_is_told_privately(
    article_bot: ArticleBot, fake: FakeRetriever
) -> None:
    interaction = make_interaction(article_bot)
    await QA.ask.callback(qa(article_bot), interaction, QUESTION, article="Moon landing @everyone")
    call = interaction.response.send_message.await_args
    assert call.args == (rendering.no_such_article_text("Moon landing @everyone"),)
    assert "@everyone" not in call.args[0]  # escaped: it would not ping even if it were shown publicly
    assert call.kwargs["ephemeral"] is True
    assert fake.asked == []


async def test_the_article_option_offers_matching_titles_as_they_are_typed(article_bot: ArticleBot) -> None:
    interaction = make_interaction(article_bot)
    offered = await autocomplete_articles(interaction, "aqua")
    assert [(c.name, c.value) for c in offered] == [("Springfield Opens Its New Aquarium", "aquarium.md")]
    everything = await autocomplete_articles(interaction, "")
    assert [c.value for c in everything] == ["philadelphia-ice.txt", "aquarium.md"]


def test_the_article_option_is_optional_and_autocompleted(article_bot: ArticleBot) -> None:
    [option] = [o for o in QA.ask.to_dict(article_bot.tree)["options"] if o["name"] == "article"]
    assert option["autocomplete"] is True
    assert option["required"] is False
    assert option["max_length"] == 100


async def test_private_ask_is_ephemeral(article_bot: ArticleBot) -> None:
    interaction = make_interaction(article_bot)
    await QA.ask.callback(qa(article_bot), interaction, QUESTION, private=True)
    assert interaction.response.send_message.await_args.kwargs["ephemeral"] is True


@pytest.mark.parametrize("private", [False, True])
async def test_slow_answer_is_deferred_then_filled_in(
    article_bot: ArticleBot, fake: FakeRetriever, private: bool
) -> None:
    cog = qa(article_bot)
    cog.direct_reply_seconds = 0.01
    fake.ask_delay.clear()
    interaction = make_interaction(article_bot)
    asking = asyncio.create_task(QA.ask.callback(cog, interaction, QUESTION, private=private))
    await asyncio.sleep(0.1)
    interaction.response.defer.assert_awaited_once_with(ephemeral=private, thinking=True)
    interaction.edit_original_response.assert_not_awaited()
    fake.ask_delay.set()
    await asking
    reply = interaction.edit_original_response.await_args.kwargs
    assert reply["embed"].title == QUESTION
    assert pings_nobody(reply["allowed_mentions"])
    interaction.response.send_message.assert_not_awaited()


def test_ask_option_limits(article_bot: ArticleBot) -> None:
    from index.retriever import MAX_QUESTION_CHARS

    option = QA.ask.to_dict(article_bot.tree)["options"][0]
    assert option["name"] == "question"
    assert option["max_length"] == MAX_QUESTION_CHARS
    assert option["min_length"] == 1


async def test_cooldown_check_is_shared_and_per_user(article_bot: ArticleBot, clock: Clock) -> None:
    assert within_cooldown(make_interaction(article_bot))
    with pytest.raises(AskingTooFast) as caught:
        within_cooldown(make_interaction(article_bot))
    assert str(caught.value) == "You're asking quickly — please try again in 3 s."
    assert within_cooldown(make_interaction(article_bot, user=make_member(OTHER_USER_ID)))
    # a mention counts against the same cooldown
    message = make_message(f"<@{BOT_ID}> {QUESTION}", author=make_member(OTHER_USER_ID))
    await qa(article_bot).on_message(message)
    message.add_reaction.assert_awaited_once()


def test_ask_and_message_command_check_the_cooldown(article_bot: ArticleBot) -> None:
    assert within_cooldown in QA.ask.checks
    assert within_cooldown in qa(article_bot).ask_menu.checks


async def test_message_command_answers_privately(article_bot: ArticleBot, fake: FakeRetriever) -> None:
    interaction = make_interaction(article_bot)
    target = make_message(f"<@{BOT_ID}> {QUESTION}", author=make_member(OTHER_USER_ID))
    await qa(article_bot).ask_menu.callback(interaction, target)  # type: ignore[call-arg]
    reply = interaction.response.send_message.await_args.kwargs
    assert reply["ephemeral"] is True
    assert fake.asked == [QUESTION]


async def test_message_command_on_a_message_without_text(
    article_bot: ArticleBot, fake: FakeRetriever
) -> None:
    interaction = make_interaction(article_bot)
    await qa(article_bot).ask_menu.callback(interaction, make_message(""))  # type: ignore[call-arg]
    assert_told_privately(interaction, rendering.NOTHING_TO_ASK)
    assert fake.asked == []


def test_message_command_is_registered(article_bot: ArticleBot) -> None:
    command = article_bot.tree.get_command("Ask the article", type=discord.AppCommandType.message)
    assert command is qa(article_bot).ask_menu


async def test_about(article_bot: ArticleBot) -> None:
    interaction = make_interaction(article_bot)
    await QA.about.callback(qa(article_bot), interaction)
    reply = interaction.response.send_message.await_args.kwargs
    assert reply["ephemeral"] is True
    assert reply["embed"].title == "About this bot"
    assert "42 passages" in reply["embed"].fields[1].value


# -- the "More passages" button -----------------------------------------------------------------


async def test_more_passages_button_shows_the_rest_privately_to_anyone(article_bot: ArticleBot) -> None:
    cog = qa(article_bot)
    reply = cog.reply_for(answer())
    [button] = reply["view"].children
    assert isinstance(button, MorePassages)
    assert len(button.custom_id) <= rendering.MAX_CUSTOM_ID
    assert len(button.item.label or "") <= rendering.MAX_BUTTON_LABEL
    match = re.fullmatch(MorePassages.__discord_ui_compiled_template__, button.custom_id)
    assert match is not None

    someone_else = make_interaction(article_bot, user=make_member(OTHER_USER_ID))
    pressed = await MorePassages.from_custom_id(someone_else, button.item, match)
    await pressed.callback(someone_else)
    shown = someone_else.response.send_message.await_args.kwargs
    assert shown["ephemeral"] is True
    assert [embed.title for embed in shown["embeds"]] == ["Passage 2 of 3", "Passage 3 of 3"]
    assert limit_problems(embeds=shown["embeds"]) == []


async def test_more_passages_after_a_restart(article_bot: ArticleBot) -> None:
    interaction = make_interaction(article_bot)
    await MorePassages("0123456789ab").callback(interaction)
    assert_told_privately(interaction, rendering.PASSAGES_GONE)


async def test_more_passages_error_is_apologised_for(
    article_bot: ArticleBot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    key = qa(article_bot).shelf.put(answer())
    monkeypatch.setattr(rendering, "more_passages_embeds", _boom)
    interaction = make_interaction(article_bot)
    await MorePassages(key).callback(interaction)
    assert "error in the More passages button" in caplog.text
    assert_told_privately(interaction, rendering.APOLOGY)


def test_shelf_forgets_the_oldest() -> None:
    from bot.exts.qa._more import AnswerShelf

    shelf = AnswerShelf(capacity=2)
    keys = [shelf.put(answer(f"q{n}")) for n in range(3)]
    assert shelf.get(keys[0]) is None
    assert shelf.get(keys[2]).question == "q2"  # type: ignore[union-attr]


def _boom(*args: object) -> None:
    raise RuntimeError("boom")


def _response(status: int) -> Any:
    from unittest.mock import Mock

    return Mock(status=status, reason="Forbidden")
