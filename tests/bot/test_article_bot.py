"""The Bot subclass: what it asks Discord for, start-up (extensions, guild sync), owner commands."""

from __future__ import annotations

import subprocess
import sys
from typing import Any
from unittest.mock import AsyncMock, Mock

import discord
import pytest

from bot.bot import EXTENSIONS, ArticleBot, bot_intents, build_bot
from bot.rendering import APOLOGY
from bot.settings import BotSettings
from tests.bot.discord_objects import (
    BOT_ID,
    BOT_ROLE_ID,
    OWNER_ID,
    make_member,
    make_message,
    pings_nobody,
)
from tests.bot.fakes import FakeRetriever


def test_importing_the_package_is_cheap() -> None:
    code = "import bot, sys; assert 'discord' not in sys.modules and 'index.retriever' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_no_privileged_intents() -> None:
    intents = bot_intents()
    assert not intents.message_content
    assert not intents.members
    assert not intents.presences
    assert intents.guilds
    assert intents.guild_messages
    assert intents.dm_messages


def test_pings_nobody_by_default() -> None:
    bot = build_bot(BotSettings(token="t"), FakeRetriever())  # type: ignore[arg-type]
    assert bot.allowed_mentions is not None
    assert pings_nobody(bot.allowed_mentions)


def test_guild_ready_timeout_is_configurable() -> None:
    bot = build_bot(BotSettings(token="t"), FakeRetriever(), guild_ready_timeout=0.1)  # type: ignore[arg-type]
    assert bot._connection.guild_ready_timeout == 0.1


def test_token_is_not_in_the_bots_repr() -> None:
    bot = build_bot(BotSettings(token="very-secret-token"), FakeRetriever())  # type: ignore[arg-type]
    assert "very-secret-token" not in repr(bot.settings)


async def test_setup_hook_loads_extensions_and_syncs_to_guilds(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    bot = build_bot(BotSettings(token="t", guild_ids=(1, 2)), FakeRetriever())  # type: ignore[arg-type]
    synced: list[int] = []

    async def sync(*, guild: discord.abc.Snowflake | None = None) -> list[Any]:
        assert guild is not None  # never a global sync at start
        if guild.id == 1:
            raise discord.Forbidden(Mock(status=403, reason="Forbidden"), "Missing Access")
        synced.append(guild.id)
        return [object()] * len(bot.tree.get_commands(guild=guild))

    monkeypatch.setattr(bot.tree, "sync", sync)
    await bot.setup_hook()
    assert set(bot.extensions) == set(EXTENSIONS)
    assert synced == [2]
    assert "could not sync commands to guild 1" in caplog.text
    names = {command.name for command in bot.tree.get_commands(guild=discord.Object(2))}
    assert names == {"ask", "about", "reindex", "insights", "article", "Ask the article"}


async def test_a_broken_extension_is_logged_not_fatal(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("bot.bot.EXTENSIONS", ("bot.exts.no_such_thing", *EXTENSIONS))
    bot = build_bot(BotSettings(token="t"), FakeRetriever())  # type: ignore[arg-type]
    await bot.setup_hook()
    assert "could not load extension bot.exts.no_such_thing" in caplog.text
    assert set(bot.extensions) == set(EXTENSIONS)


async def test_owner_mention_command_is_recognised(article_bot: ArticleBot) -> None:
    owner = make_member(OWNER_ID)  # the fixture's owner_id
    context = await article_bot.owner_command(make_message(f"<@{BOT_ID}> sync here", author=owner))
    assert context is not None
    assert context.command is not None
    assert context.command.name == "sync"
    assert await article_bot.owner_command(make_message(f"<@{BOT_ID}> when was it?", author=owner)) is None
    assert await article_bot.owner_command(make_message(f"<@{BOT_ID}> sync")) is None  # not the owner


async def test_process_commands_invokes_only_owner_commands(
    article_bot: ArticleBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoke = AsyncMock()
    monkeypatch.setattr(article_bot, "invoke", invoke)
    await article_bot.process_commands(make_message(f"<@{BOT_ID}> sync"))
    await article_bot.process_commands(make_message(f"<@{BOT_ID}> what?", author=make_member(OWNER_ID)))
    invoke.assert_not_awaited()
    await article_bot.process_commands(make_message(f"<@{BOT_ID}> sync", author=make_member(OWNER_ID)))
    invoke.assert_awaited_once()


async def test_questions_cost_no_owner_lookup(
    article_bot: ArticleBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    is_owner = AsyncMock(return_value=False)
    monkeypatch.setattr(article_bot, "is_owner", is_owner)
    assert await article_bot.owner_command(make_message(f"<@{BOT_ID}> when was it announced?")) is None
    is_owner.assert_not_awaited()  # only a message that parses as a command needs the owner (a request)
    assert await article_bot.owner_command(make_message(f"<@{BOT_ID}> sync")) is None
    is_owner.assert_awaited_once()


@pytest.mark.parametrize(
    ("mentions", "role_mentions", "apologises"),
    [((BOT_ID,), (), True), ((), (BOT_ROLE_ID,), True), ((), (), False)],
    ids=["user mention", "role mention", "not addressed"],
)
async def test_a_failure_answering_a_message_to_the_bot_is_apologised_for(
    article_bot: ArticleBot,
    mentions: tuple[int, ...],
    role_mentions: tuple[int, ...],
    apologises: bool,
) -> None:
    message = make_message("when does it expire?", mentions=mentions, role_mentions=role_mentions)

    try:
        raise RuntimeError("answering failed")
    except RuntimeError:
        await article_bot.on_error("on_message", message)

    sent = message.channel.send.await_args_list
    assert len(sent) == int(apologises)
    if apologises:
        assert sent[0].args == (APOLOGY,)
        allowed = sent[0].kwargs["allowed_mentions"]
        assert (allowed.everyone, allowed.users, allowed.roles, allowed.replied_user) == (False,) * 4
