"""/reindex when the disk fails it, and with the index deleted under the running bot: the admin
who asked gets a clear sentence, the failure is logged, and questions are answered throughout
from the index in memory. (The same faults below the bot: tests/index/test_index_faults.py.)"""

from __future__ import annotations

import errno
import os
import shutil

import pytest
from stand_in import DiscordStandIn
from traffic import answer_embed

from index.settings import IndexSettings
from index.store import IndexStore

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(30)]

QUESTION = "When does the contract expire?"


async def ask(stand_in: DiscordStandIn, user: str) -> str:
    sent = await stand_in.slash_command("ask", {"question": QUESTION}, user=user)
    await stand_in.wait_for_answer(sent)
    return answer_embed(sent)["description"]


async def reindex(stand_in: DiscordStandIn) -> str:
    sent = await stand_in.slash_command("reindex", user="olivia")  # the application's owner
    await stand_in.wait_for_answer(sent, timeout=10)
    assert sent.ephemeral
    return sent.original["content"]


def no_space(_: int) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def denied(_: int) -> None:
    raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))


@pytest.mark.parametrize("fault", [no_space, denied], ids=["disk-full", "permission-denied"])
async def test_a_reindex_the_disk_refuses_is_reported_to_the_admin_and_changes_nothing(
    stand_in: DiscordStandIn,
    start_article_bot,
    settings: IndexSettings,
    bot_errors,
    monkeypatch: pytest.MonkeyPatch,
    fault,
) -> None:
    await start_article_bot(env={"ASK_COOLDOWN_SECONDS": "0"})
    before = IndexStore(settings.index_dir).load()
    monkeypatch.setattr(os, "fsync", fault)  # what a full or read-only disk does to a write

    failed = await reindex(stand_in)

    assert failed.startswith("Reindex failed: ")
    assert os.strerror(errno.ENOSPC if fault is no_space else errno.EACCES) in failed
    assert failed.endswith("The current index keeps answering.")
    [logged] = bot_errors
    assert logged.getMessage() == "reindex failed"
    assert logged.exc_info is not None
    bot_errors.clear()
    assert "expires Aug. 31" in await ask(stand_in, "rita")
    monkeypatch.undo()
    assert IndexStore(settings.index_dir).load().passages == before.passages
    assert [path.name for path in settings.index_dir.parent.iterdir() if path.is_dir()] == ["index"]

    assert (await reindex(stand_in)).startswith("Reindexed: ")  # once the disk is fixed


async def test_the_index_deleted_under_the_running_bot_keeps_answering_and_a_reindex_restores_it(
    stand_in: DiscordStandIn, article_bot, settings: IndexSettings
) -> None:
    served = article_bot.retriever.info.passages
    shutil.rmtree(settings.index_dir)

    assert "expires Aug. 31" in await ask(stand_in, "rita")
    done = await reindex(stand_in)

    assert done.startswith(f"Reindexed: {served} passages from 1 article(s); 0 embedded, ")
    assert IndexStore(settings.index_dir).load().passages == article_bot.retriever.retriever.data.passages
    assert "expires Aug. 31" in await ask(stand_in, "ned")
