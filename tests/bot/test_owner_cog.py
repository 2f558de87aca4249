"""`@Bot sync`: the owner's command sync, globally or to one server."""

from __future__ import annotations

from typing import Any
from unittest.mock import AsyncMock, Mock, create_autospec

import discord
import pytest
from discord.ext import commands

from bot.bot import ArticleBot
from bot.exts.owner._cog import USAGE, Owner
from tests.bot.discord_objects import OWNER_ID, make_guild, make_member


def owner_cog(bot: ArticleBot) -> Owner:
    cog = bot.get_cog("Owner")
    assert isinstance(cog, Owner)
    return cog


def make_context(bot: ArticleBot, *, guild: bool = True, author_id: int = OWNER_ID) -> Any:
    context = create_autospec(commands.Context, instance=True)
    context.bot = bot
    context.author = make_member(author_id)
    context.guild = make_guild() if guild else None
    return context


def replied(context: Any) -> str:
    call = context.reply.await_args
    assert call.kwargs["mention_author"] is False
    return call.args[0]


@pytest.fixture
def sync(article_bot: ArticleBot, monkeypatch: pytest.MonkeyPatch) -> AsyncMock:
    mock = AsyncMock(return_value=[object()] * 4)
    monkeypatch.setattr(article_bot.tree, "sync", mock)
    return mock


async def test_global_sync(article_bot: ArticleBot, sync: AsyncMock) -> None:
    context = make_context(article_bot)
    await Owner.sync.callback(owner_cog(article_bot), context)
    sync.assert_awaited_once_with()
    assert replied(context).startswith("Synced 4 commands globally")


async def test_sync_here_copies_to_the_server(article_bot: ArticleBot, sync: AsyncMock) -> None:
    context = make_context(article_bot)
    await Owner.sync.callback(owner_cog(article_bot), context, "here")
    sync.assert_awaited_once_with(guild=context.guild)
    assert article_bot.tree.get_commands(guild=context.guild)
    assert replied(context) == "Synced 4 commands to this server."


async def test_sync_clear_removes_the_servers_copies(article_bot: ArticleBot, sync: AsyncMock) -> None:
    context = make_context(article_bot)
    article_bot.tree.copy_global_to(guild=context.guild)
    await Owner.sync.callback(owner_cog(article_bot), context, "clear")
    assert article_bot.tree.get_commands(guild=context.guild) == []
    sync.assert_awaited_once_with(guild=context.guild)
    assert replied(context).startswith("Removed this server's copies")


async def test_server_scopes_need_a_server(article_bot: ArticleBot, sync: AsyncMock) -> None:
    context = make_context(article_bot, guild=False)
    await Owner.sync.callback(owner_cog(article_bot), context, "here")
    sync.assert_not_awaited()
    assert USAGE in replied(context)


async def test_only_the_owner(article_bot: ArticleBot) -> None:
    with pytest.raises(commands.NotOwner):
        await owner_cog(article_bot).cog_check(make_context(article_bot, author_id=1))
    assert await owner_cog(article_bot).cog_check(make_context(article_bot))


async def test_failed_sync_reports_discords_reason(article_bot: ArticleBot) -> None:
    context = make_context(article_bot)
    error = discord.HTTPException(Mock(status=429, reason="Too Many Requests"), "You are being rate limited.")
    await owner_cog(article_bot).cog_command_error(context, commands.CommandInvokeError(error))
    assert replied(context) == "Sync failed: 429 You are being rate limited."


async def test_bad_scope_gets_the_usage(article_bot: ArticleBot) -> None:
    context = make_context(article_bot)
    error = commands.BadLiteralArgument(Mock(), ("global", "here", "clear"), "nowhere")  # type: ignore[arg-type]
    await owner_cog(article_bot).cog_command_error(context, error)
    assert replied(context) == USAGE
