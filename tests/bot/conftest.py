"""An `ArticleBot` built in-process over a fake retriever and a hand-moved clock."""

from __future__ import annotations

from collections.abc import AsyncIterator

import discord
import pytest

from bot.bot import ArticleBot, build_bot
from bot.settings import BotSettings
from tests.bot.discord_objects import ADMIN_ROLE_ID, ADMIN_USER_ID, BOT_ID, OWNER_ID
from tests.bot.fakes import FakeRetriever


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake() -> FakeRetriever:
    return FakeRetriever()


@pytest.fixture
def bot_settings() -> BotSettings:
    return BotSettings(
        token="test-token",
        admin_user_ids=frozenset({ADMIN_USER_ID}),
        admin_role_ids=frozenset({ADMIN_ROLE_ID}),
        ask_cooldown_seconds=3,
    )


@pytest.fixture
async def article_bot(
    bot_settings: BotSettings, fake: FakeRetriever, clock: Clock
) -> AsyncIterator[ArticleBot]:
    """The bot with its extensions loaded, as after login (no connection is made)."""
    bot = build_bot(bot_settings, fake, clock=clock)  # type: ignore[arg-type]
    # What login would set: the bot's own user.
    bot._connection.user = discord.ClientUser(
        state=bot._connection,
        data={"id": str(BOT_ID), "username": "ArticleBot", "discriminator": "0", "avatar": None, "bot": True},
    )
    bot.owner_id = OWNER_ID  # spares `is_owner` the application-info request
    await bot.setup_hook()
    yield bot
    # Not `bot.close()`: it unloads the extensions, which drops their modules from sys.modules, and
    # the next test's bot would get fresh classes unequal to those the test modules imported. The
    # bot never connected; only the retriever's question batcher needs stopping.
    await bot.retriever.close()
