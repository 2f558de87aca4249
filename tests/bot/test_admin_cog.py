"""/reindex: who may run it, one at a time, questions answered meanwhile, errors reported."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import discord
import pytest

from bot import rendering
from bot.bot import ArticleBot, build_bot
from bot.exts.admin._cog import Admin, may_reindex
from bot.exts.qa._cog import QA
from bot.permissions import REINDEX_IN_DMS, REINDEX_NOT_ALLOWED
from bot.settings import BotSettings
from bot.tree import NotAllowed
from index.articles import ArticleError
from tests.bot.discord_objects import (
    ADMIN_ROLE_ID,
    ADMIN_USER_ID,
    OTHER_USER_ID,
    OWNER_ID,
    make_interaction,
    make_member,
    pings_nobody,
)
from tests.bot.fakes import FakeRetriever


def admin(bot: ArticleBot) -> Admin:
    cog = bot.get_cog("Admin")
    assert isinstance(cog, Admin)
    return cog


async def run_reindex(bot: ArticleBot, interaction: Any) -> None:
    await Admin.reindex.callback(admin(bot), interaction)


def final_text(interaction: Any) -> str:
    interaction.edit_original_response.assert_awaited_once()
    call = interaction.edit_original_response.await_args.kwargs
    assert pings_nobody(call["allowed_mentions"])
    return call["content"]


async def wait_for(event: threading.Event) -> None:
    assert await asyncio.to_thread(event.wait, 5), "timed out"


def test_reindex_is_guild_only_with_a_manage_server_hint(article_bot: ArticleBot) -> None:
    payload = Admin.reindex.to_dict(article_bot.tree)
    assert payload["default_member_permissions"] == discord.Permissions(manage_guild=True).value
    assert payload["dm_permission"] is False
    assert may_reindex in Admin.reindex.checks  # enforced at run time, whatever the hint says


@pytest.mark.parametrize(
    "permissions",
    [
        discord.Permissions.none(),
        discord.Permissions(manage_messages=True),
        discord.Permissions(manage_guild=True),  # a server's admin: the index is every server's
        discord.Permissions(administrator=True),
    ],
)
async def test_members_who_are_not_the_bots_admins_are_refused_whatever_their_permissions(
    article_bot: ArticleBot, permissions: discord.Permissions
) -> None:
    with pytest.raises(NotAllowed) as caught:
        await may_reindex(make_interaction(article_bot, permissions=permissions))
    assert str(caught.value) == REINDEX_NOT_ALLOWED


@pytest.mark.parametrize(
    "who",
    [
        {"user": make_member(OWNER_ID)},
        {"user": make_member(ADMIN_USER_ID)},
        {"user": make_member(OTHER_USER_ID, role_ids=(1, ADMIN_ROLE_ID))},
    ],
)
async def test_the_owner_and_configured_admins_may(article_bot: ArticleBot, who: dict[str, Any]) -> None:
    assert await may_reindex(make_interaction(article_bot, **who))


async def test_refused_in_dms_even_for_admin_users(article_bot: ArticleBot) -> None:
    user = discord.Object(ADMIN_USER_ID)  # in a DM the user is a User, not a Member
    with pytest.raises(NotAllowed) as caught:
        await may_reindex(make_interaction(article_bot, user=user, dm=True))
    assert str(caught.value) == REINDEX_IN_DMS


async def test_refusal_reaches_the_user_privately_and_nothing_runs(
    article_bot: ArticleBot, fake: FakeRetriever
) -> None:
    interaction = make_interaction(article_bot)
    interaction.command = Admin.reindex
    with pytest.raises(NotAllowed) as caught:
        await may_reindex(interaction)
    await article_bot.tree.on_error(interaction, caught.value)
    call = interaction.response.send_message.await_args
    assert call.args == (REINDEX_NOT_ALLOWED,)
    assert call.kwargs["ephemeral"] is True
    assert not fake.reindex_started.is_set()


async def test_reindex_defers_privately_and_ends_with_the_stats(
    article_bot: ArticleBot, fake: FakeRetriever
) -> None:
    interaction = make_interaction(article_bot, user=make_member(ADMIN_USER_ID))
    await run_reindex(article_bot, interaction)
    interaction.response.defer.assert_awaited_once_with(ephemeral=True, thinking=True)
    text = final_text(interaction)
    assert text.startswith("Reindexed: 42 passages from 1 article(s); 3 embedded, 117 reused, in 1.2 s.")
    assert fake.generation == "new"


async def test_one_reindex_at_a_time_and_questions_meanwhile(
    article_bot: ArticleBot, fake: FakeRetriever
) -> None:
    fake.hold_reindex()
    first = make_interaction(article_bot, user=make_member(ADMIN_USER_ID))
    running = asyncio.create_task(run_reindex(article_bot, first))
    await wait_for(fake.reindex_started)

    second = make_interaction(article_bot, user=make_member(ADMIN_USER_ID))
    await run_reindex(article_bot, second)
    assert second.response.send_message.await_args.args == (rendering.REINDEX_RUNNING,)
    second.response.defer.assert_not_awaited()

    question = make_interaction(article_bot, user=make_member(OTHER_USER_ID))
    qa = article_bot.get_cog("QA")
    assert isinstance(qa, QA)
    await asyncio.wait_for(QA.ask.callback(qa, question, "when?"), 2)
    reply = question.response.send_message.await_args.kwargs
    assert reply["embed"].title == "when?"  # answered from the current index while the reindex runs
    assert fake.asked == ["when?"]
    assert fake.generation == "old"

    fake.reindex_release.set()
    await running
    assert final_text(first).startswith("Reindexed:")
    assert fake.generation == "new"


async def test_failed_reindex_says_why_and_the_old_index_keeps_serving(
    article_bot: ArticleBot, fake: FakeRetriever
) -> None:
    fake.reindex_error = ArticleError("ARTICLES_DIR 'data/articles' has no article files (.txt or .md)")
    interaction = make_interaction(article_bot, user=make_member(ADMIN_USER_ID))
    await run_reindex(article_bot, interaction)
    text = final_text(interaction)
    assert text.startswith("Reindex failed: ARTICLES\\_DIR 'data/articles' has no article files")
    assert text.endswith("The current index keeps answering.")
    assert fake.generation == "old"
    assert not article_bot.retriever.reindexing


async def test_unexpected_reindex_error_is_logged_and_reported(
    article_bot: ArticleBot, fake: FakeRetriever, caplog: pytest.LogCaptureFixture
) -> None:
    fake.reindex_error = PermissionError(13, "Permission denied", "var/index")
    interaction = make_interaction(article_bot, user=make_member(ADMIN_USER_ID))
    await run_reindex(article_bot, interaction)
    assert "PermissionError" in final_text(interaction)
    assert "reindex failed" in caplog.text
    assert any(record.exc_info for record in caplog.records)


async def test_a_second_reindex_within_the_cooldown_is_refused_privately_whoever_asks(
    article_bot: ArticleBot, fake: FakeRetriever, clock: Any
) -> None:
    first = make_interaction(article_bot, user=make_member(ADMIN_USER_ID))
    await run_reindex(article_bot, first)
    assert final_text(first).startswith("Reindexed:")
    fake.generation = "old"

    clock.now += 29
    second = make_interaction(article_bot, user=make_member(OWNER_ID))  # another admin: one index
    await run_reindex(article_bot, second)
    assert second.response.send_message.await_args.args == (rendering.reindex_cooldown_text(1),)
    assert second.response.send_message.await_args.kwargs["ephemeral"] is True
    second.response.defer.assert_not_awaited()
    assert fake.generation == "old"  # nothing was rebuilt

    clock.now += 1
    third = make_interaction(article_bot, user=make_member(OWNER_ID))
    await run_reindex(article_bot, third)
    assert final_text(third).startswith("Reindexed:")
    assert fake.generation == "new"


async def test_a_cooldown_of_zero_lets_reindexes_follow_each_other(
    bot_settings: BotSettings, fake: FakeRetriever, clock: Any
) -> None:
    settings = bot_settings.model_copy(update={"reindex_cooldown_seconds": 0})
    bot = build_bot(settings, fake, clock=clock)  # type: ignore[arg-type]
    bot.owner_id = OWNER_ID
    await bot.setup_hook()
    try:
        for _ in range(3):
            interaction = make_interaction(bot, user=make_member(ADMIN_USER_ID))
            await run_reindex(bot, interaction)
            assert final_text(interaction).startswith("Reindexed:")
    finally:
        await bot.retriever.close()


async def test_a_failed_reindex_does_not_start_the_cooldown(
    article_bot: ArticleBot, fake: FakeRetriever
) -> None:
    fake.reindex_error = ArticleError("ARTICLES_DIR 'data/articles' has no article files (.txt or .md)")
    failed = make_interaction(article_bot, user=make_member(ADMIN_USER_ID))
    await run_reindex(article_bot, failed)
    assert final_text(failed).startswith("Reindex failed:")

    fake.reindex_error = None  # the admin fixed the folder and tries again at once
    retried = make_interaction(article_bot, user=make_member(ADMIN_USER_ID))
    await run_reindex(article_bot, retried)
    assert final_text(retried).startswith("Reindexed:")
