"""/reindex: refused (privately) to everyone but the bot's admins — a server's Manage Server is not
enough, the index is every server's — run for an admin while questions keep being answered, one at a
time, and at most once per REINDEX_COOLDOWN_SECONDS."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from stand_in import DiscordStandIn
from traffic import (
    APPLICATION,
    CALLBACK,
    DIRECT_ANSWER,
    LOGIN,
    ORIGINAL,
    answer_embed,
    pings_nobody,
    requests_for,
    routes,
)

from bot import rendering
from bot.permissions import REINDEX_NOT_ALLOWED
from index.settings import IndexSettings
from tests.fakes import FakeEmbedder

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(30)]

NEWS = "zebrafish"
NEW_PARAGRAPH = f"Kenney said the city will also publish a yearly report on its {NEWS} research program."
EPHEMERAL = 1 << 6


class HeldEmbedder(FakeEmbedder):
    """The fake embedder, except that embedding text containing ``word`` waits until released,
    so a reindex of an article mentioning it can be held mid-build."""

    def __init__(self, word: str) -> None:
        super().__init__()
        self.word = word
        self.holding = threading.Event()
        self.released = threading.Event()

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        if any(self.word in text for text in texts):
            self.holding.set()
            if not self.released.wait(timeout=10):
                raise TimeoutError("the held embedding was never released")
        return super().embed(texts, progress=progress)


@pytest.fixture
def embedder() -> Iterator[HeldEmbedder]:
    held = HeldEmbedder(NEWS)
    yield held
    held.released.set()  # never leave a worker thread waiting


def built_from(index: IndexSettings) -> tuple[str, list[str]]:
    """When the saved index was built, and the digests of the articles it was built from."""
    manifest = json.loads((index.index_dir / "manifest.json").read_text())
    return manifest["built_at"], [article["digest"] for article in manifest["articles"]]


def add_paragraph(articles_dir: Path, text: str) -> None:
    [article] = articles_dir.iterdir()
    article.write_text(article.read_text() + f"\n{text}\n")


async def test_reindex_is_refused_to_everyone_but_the_bots_admins_and_changes_nothing(
    stand_in: DiscordStandIn, start_article_bot, settings: IndexSettings, embedder: HeldEmbedder
) -> None:
    await start_article_bot(embedder)
    before = built_from(settings)
    add_paragraph(settings.articles_dir, NEW_PARAGRAPH)  # what a reindex would pick up

    # a plain member; a moderator with Manage Messages only; adam, with Manage Server
    for user in ("rita", "mona", "adam"):
        sent = await stand_in.slash_command("reindex", user=user)
        await stand_in.wait_for_answer(sent)
        assert routes(stand_in, requests_for(stand_in, sent)) == DIRECT_ANSWER
        assert sent.ephemeral
        assert sent.original["content"] == REINDEX_NOT_ALLOWED

    assert built_from(settings) == before
    assert not embedder.holding.is_set()  # nothing was embedded
    # the application's owner is looked up once (GET /oauth2/applications/@me), then cached
    assert routes(stand_in) == [*LOGIN, ("GET", APPLICATION), *[("POST", CALLBACK)] * 3]


async def test_an_admins_reindex_runs_once_while_questions_are_still_answered(
    stand_in: DiscordStandIn, start_article_bot, settings: IndexSettings, embedder: HeldEmbedder
) -> None:
    adam = stand_in.world.user("adam")
    bot = await start_article_bot(embedder, env={"ASK_COOLDOWN_SECONDS": "0", "ADMIN_USER_IDS": str(adam.id)})
    before = built_from(settings)
    passages = bot.retriever.info.passages
    add_paragraph(settings.articles_dir, NEW_PARAGRAPH)

    first = await stand_in.slash_command("reindex", user="adam")  # in ADMIN_USER_IDS
    await asyncio.to_thread(embedder.holding.wait, 5)  # the build is under way, held mid-embedding
    assert first.response_type == 5  # deferred: "thinking…", privately
    assert first.ephemeral

    second = await stand_in.slash_command("reindex", user="olivia")  # the application's owner
    await stand_in.wait_for_answer(second)
    assert (second.ephemeral, second.original["content"]) == (True, rendering.REINDEX_RUNNING)

    question = await stand_in.slash_command(
        "ask", {"question": "When does the contract expire?"}, user="rita"
    )
    await stand_in.wait_for_answer(question)
    assert "expires Aug. 31" in answer_embed(question)["description"]  # from the index being served
    about = await stand_in.slash_command("about", user="ned")
    await stand_in.wait_for_answer(about)
    assert "a reindex is running" in str(about.original["embeds"])

    embedder.released.set()
    await stand_in.wait_for_answer(first)

    done = first.original["content"]
    assert done.startswith(f"Reindexed: {passages + 1} passages from 1 article(s); ")
    assert done.endswith("The new index is answering now.")
    assert first.ephemeral
    assert built_from(settings) != before
    assert bot.retriever.info.passages == passages + 1
    [edit] = [r for r in requests_for(stand_in, first) if r.matches("PATCH", ORIGINAL)]
    assert pings_nobody(edit.body)
    assert routes(stand_in, requests_for(stand_in, first)) == [("POST", CALLBACK), ("PATCH", ORIGINAL)]
    # the first admin check looks up the application's owner once (then cached)
    assert routes(stand_in) == [*LOGIN, ("GET", APPLICATION), *[("POST", CALLBACK)] * 4, ("PATCH", ORIGINAL)]

    news = await stand_in.slash_command("ask", {"question": f"Is there a {NEWS} report?"}, user="rita")
    await stand_in.wait_for_answer(news)
    assert NEWS in answer_embed(news)["description"]


async def test_the_application_owner_may_reindex_then_waits_out_the_cooldown(
    stand_in: DiscordStandIn, start_article_bot, settings: IndexSettings
) -> None:
    await start_article_bot(env={"REINDEX_COOLDOWN_SECONDS": "600"})
    assert stand_in.world.application_owner == stand_in.world.user("olivia")  # not in ADMIN_USER_IDS

    first = await stand_in.slash_command("reindex", user="olivia")
    await stand_in.wait_for_answer(first)
    assert first.original["content"].startswith("Reindexed: ")
    before = built_from(settings)

    again = await stand_in.slash_command("reindex", user="olivia")
    await stand_in.wait_for_answer(again)
    assert routes(stand_in, requests_for(stand_in, again)) == DIRECT_ANSWER
    assert again.ephemeral
    assert again.original["content"] == rendering.reindex_cooldown_text(600)
    assert built_from(settings) == before
