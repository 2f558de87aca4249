"""The one error handler of the command tree, and the one for events."""

from __future__ import annotations

import logging
from typing import Any

import discord
import pytest
from discord import app_commands

from bot import rendering
from bot.async_retriever import Busy
from bot.bot import ArticleBot
from bot.exts.qa._cog import QA
from bot.tree import AskingTooFast, send_private
from tests.bot.discord_objects import BOT_ID, deferred, make_interaction, make_member, make_message, responded


def invoke_error(error: Exception) -> app_commands.CommandInvokeError:
    return app_commands.CommandInvokeError(QA.ask, error)


def told(interaction: Any) -> tuple[str, str]:
    """How the user was told (response, edit or followup) and what."""
    for how, method in (
        ("response", interaction.response.send_message),
        ("edit", interaction.edit_original_response),
        ("followup", interaction.followup.send),
    ):
        if method.await_count:
            call = method.await_args
            text = call.args[0] if call.args else call.kwargs["content"]
            if how != "edit":
                assert call.kwargs["ephemeral"] is True
            return how, text
    raise AssertionError("the user was told nothing")


async def test_cooldown_gets_a_private_try_again(article_bot: ArticleBot) -> None:
    interaction = make_interaction(article_bot)
    await article_bot.tree.on_error(interaction, AskingTooFast(2.2))
    assert told(interaction) == ("response", "You're asking quickly — please try again in 3 s.")


async def test_check_failures_are_explained(article_bot: ArticleBot) -> None:
    interaction = make_interaction(article_bot)
    await article_bot.tree.on_error(interaction, app_commands.NoPrivateMessage())
    assert told(interaction) == ("response", "This command cannot be used in direct messages.")


async def test_busy_is_explained(article_bot: ArticleBot) -> None:
    interaction = make_interaction(article_bot)
    await article_bot.tree.on_error(interaction, invoke_error(Busy()))
    assert told(interaction) == ("response", rendering.BUSY)


async def test_unexpected_error_is_logged_with_traceback_and_apologised_for(
    article_bot: ArticleBot, caplog: pytest.LogCaptureFixture
) -> None:
    interaction = make_interaction(article_bot)
    interaction.command = QA.ask
    try:
        raise RuntimeError("the index is on fire")
    except RuntimeError as error:
        await article_bot.tree.on_error(interaction, invoke_error(error))
    assert told(interaction) == ("response", rendering.APOLOGY)
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "error in ask" in record.getMessage()
    assert record.exc_info is not None
    assert "the index is on fire" in caplog.text
    assert "the index is on fire" not in told(interaction)[1]


async def test_apology_after_a_deferral_fills_in_the_thinking_message(article_bot: ArticleBot) -> None:
    interaction = make_interaction(article_bot)
    deferred(interaction)
    await article_bot.tree.on_error(interaction, invoke_error(RuntimeError("x")))
    assert told(interaction) == ("edit", rendering.APOLOGY)


async def test_apology_after_a_response_is_a_followup(article_bot: ArticleBot) -> None:
    interaction = make_interaction(article_bot)
    responded(interaction)
    await article_bot.tree.on_error(interaction, invoke_error(RuntimeError("x")))
    assert told(interaction) == ("followup", rendering.APOLOGY)


async def test_failing_to_tell_the_user_is_only_logged(caplog: pytest.LogCaptureFixture) -> None:
    interaction = make_interaction(None)  # type: ignore[arg-type]
    interaction.response.send_message.side_effect = discord.NotFound(_response(404), "Unknown interaction")
    await send_private(interaction, "hello")
    assert "could not reply to interaction" in caplog.text


async def test_event_errors_are_logged_and_the_asker_gets_an_apology(
    article_bot: ArticleBot, caplog: pytest.LogCaptureFixture
) -> None:
    message = make_message(f"<@{BOT_ID}> when?")
    try:
        raise RuntimeError("listener broke")
    except RuntimeError:
        await article_bot.on_error("on_message", message)
    assert "unhandled error in on_message" in caplog.text
    assert "listener broke" in caplog.text
    call = message.channel.send.await_args
    assert call.args == (rendering.APOLOGY,)
    assert call.kwargs["mention_author"] is False


async def test_event_errors_from_bots_get_no_apology(article_bot: ArticleBot) -> None:
    message = make_message("x", author=make_member(1, bot=True))
    try:
        raise RuntimeError("listener broke")
    except RuntimeError:
        await article_bot.on_error("on_message", message)
    message.channel.send.assert_not_awaited()


async def test_event_errors_from_messages_not_for_the_bot_get_no_apology(article_bot: ArticleBot) -> None:
    message = make_message("just chatting", mentions=())
    try:
        raise RuntimeError("listener broke")
    except RuntimeError:
        await article_bot.on_error("on_message", message)
    message.channel.send.assert_not_awaited()


async def test_event_errors_without_a_message_are_only_logged(
    article_bot: ArticleBot, caplog: pytest.LogCaptureFixture
) -> None:
    try:
        raise RuntimeError("ready broke")
    except RuntimeError:
        await article_bot.on_error("on_ready")
    assert "unhandled error in on_ready" in caplog.text


def _response(status: int) -> Any:
    from unittest.mock import Mock

    return Mock(status=status, reason="Not Found")
