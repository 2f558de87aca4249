"""Abuse, end to end: the per-user cooldown across every way of asking, the cap on questions
waiting for an answer, questions cut to length before anything embeds them, and who may /reindex.

(Members without Manage Server refused and an admin with it allowed: test_bot_reindex.py; the
rules themselves, DMs included: tests/bot/test_permissions.py and tests/bot/test_admin_cog.py.)
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator, Sequence

import numpy as np
import pytest
from stand_in import DiscordStandIn
from traffic import CALLBACK, MESSAGES, REACTION, answer_embed, requests_for, routes

from bot import rendering
from bot.async_retriever import MAX_PENDING
from bot.exts.qa._cog import SLOW_DOWN_REACTION
from bot.permissions import REINDEX_NOT_ALLOWED
from index.retriever import MAX_QUESTION_CHARS, normalize_question
from tests.fakes import FakeEmbedder

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

QUESTION = "When does the contract expire?"


# -- the cooldown ----------------------------------------------------------------------------------


async def test_within_the_cooldown_a_mention_gets_a_reaction_and_ask_a_private_refusal(
    stand_in: DiscordStandIn, start_article_bot
) -> None:
    bot = await start_article_bot(env={"ASK_COOLDOWN_SECONDS": "30"})
    first = await stand_in.post_message("rita", f"{bot.user.mention} {QUESTION}")
    await stand_in.wait_for_request("POST", MESSAGES)

    again = await stand_in.post_message("rita", f"{bot.user.mention} {QUESTION} again")
    await stand_in.wait_for_request("PUT", REACTION)
    by_command = await stand_in.slash_command("ask", {"question": QUESTION}, user="rita")
    await stand_in.wait_for_answer(by_command)
    other_user = await stand_in.slash_command("ask", {"question": QUESTION}, user="ned")
    await stand_in.wait_for_answer(other_user)

    [reply] = [r.body for r in stand_in.requests_to("POST", MESSAGES)]
    assert int(reply["message_reference"]["message_id"]) == int(
        first["id"]
    )  # the second mention got no reply...
    assert stand_in.messages.reactions == [(int(again["id"]), SLOW_DOWN_REACTION)]  # ...but a ⏳
    assert by_command.ephemeral
    assert by_command.original["content"].startswith("You're asking quickly — please try again in ")
    assert "expires Aug. 31" in answer_embed(other_user)["description"]  # others are unaffected


# -- the cap on waiting questions ------------------------------------------------------------------


class GatedEmbedder(FakeEmbedder):
    """The fake embedder, except that while `gate` is clear embedding waits for it."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.gate.set()
        self.waiting = threading.Event()

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        if not self.gate.is_set():
            self.waiting.set()
            if not self.gate.wait(timeout=30):
                raise TimeoutError("the gate was never opened")
        return super().embed(texts, progress=progress)


@pytest.fixture
def gated() -> Iterator[GatedEmbedder]:
    embedder = GatedEmbedder()
    yield embedder
    embedder.gate.set()  # never leave the bot's worker thread waiting


async def test_past_the_cap_on_waiting_questions_the_rest_are_told_busy_and_each_gets_one_answer(
    stand_in: DiscordStandIn, start_article_bot, gated: GatedEmbedder
) -> None:
    await start_article_bot(gated, env={"ASK_COOLDOWN_SECONDS": "0"})
    gated.gate.clear()  # the model is stuck on the first batch: every question after it waits
    flood = MAX_PENDING + 12
    users = ("rita", "ned", "mona", "adam", "olivia")
    asked = [
        await stand_in.slash_command("ask", {"question": f"question {n} about the mayor"}, user=users[n % 5])
        for n in range(flood)
    ]
    busy = asked[MAX_PENDING:]
    for sent in busy:
        await stand_in.wait_for_answer(sent)
    assert all((sent.ephemeral, sent.original["content"]) == (True, rendering.BUSY) for sent in busy)

    gated.gate.set()
    for sent in asked[:MAX_PENDING]:
        await stand_in.wait_for_answer(sent, timeout=15)

    for number, sent in enumerate(asked[:MAX_PENDING]):
        assert answer_embed(sent)["title"] == f"question {number} about the mayor"  # its own answer
        assert sent.followups == []
    callbacks = Counter(request.path.split("/")[2] for request in stand_in.requests_to("POST", CALLBACK))
    assert callbacks == dict.fromkeys((str(sent.id) for sent in asked), 1)  # one response each


# -- question length -------------------------------------------------------------------------------


async def test_a_10000_character_question_is_cut_to_500_before_anything_embeds_it(
    stand_in: DiscordStandIn, start_article_bot
) -> None:
    embedder = FakeEmbedder()
    bot = await start_article_bot(embedder)
    question = ("Why did the mayor end the ICE contract? " * 250)[:10_000]
    embedded_before = embedder.embedded

    await stand_in.post_message("rita", f"{bot.user.mention} {question}")
    await stand_in.wait_for_request("POST", MESSAGES)

    capped, _ = normalize_question(question)
    assert len(capped) <= MAX_QUESTION_CHARS
    assert embedder.embedded == embedded_before + 1
    assert embedder.batches[-1] == [capped]  # what the model read


# -- who may /reindex ------------------------------------------------------------------------------


def role_id(stand_in: DiscordStandIn, name: str) -> int:
    return next(role.id for role in stand_in.world.guild.roles if role.name == name)


async def run_reindex(stand_in: DiscordStandIn, user: str) -> str:
    sent = await stand_in.slash_command("reindex", user=user)
    await stand_in.wait_for_answer(sent, timeout=10)
    assert sent.ephemeral
    return sent.original["content"]


async def test_reindex_is_allowed_to_a_holder_of_an_admin_role_without_manage_server(
    stand_in: DiscordStandIn, start_article_bot
) -> None:
    # mona's Moderator role has Manage Messages only; ADMIN_ROLE_IDS names it.
    moderator = role_id(stand_in, "Moderator")
    await start_article_bot(env={"ADMIN_ROLE_IDS": str(moderator)})

    assert (await run_reindex(stand_in, "mona")).startswith("Reindexed: ")
    assert await run_reindex(stand_in, "rita") == REINDEX_NOT_ALLOWED


async def test_reindex_is_allowed_to_a_listed_admin_user_without_any_role(
    stand_in: DiscordStandIn, start_article_bot
) -> None:
    rita = stand_in.world.user("rita")
    await start_article_bot(env={"ADMIN_USER_IDS": str(rita.id)})

    assert (await run_reindex(stand_in, "rita")).startswith("Reindexed: ")
    assert await run_reindex(stand_in, "ned") == REINDEX_NOT_ALLOWED


async def test_reindex_is_never_offered_in_dms_even_once_synced_everywhere(
    stand_in: DiscordStandIn, article_bot
) -> None:
    owner = stand_in.world.application_owner
    await stand_in.post_message(owner, f"{article_bot.user.mention} sync")  # the owner's global sync
    reply = await stand_in.wait_for_request("POST", MESSAGES)
    assert reply.body["content"].startswith("Synced 6 commands globally")

    with pytest.raises(LookupError, match="would not offer command 'reindex'"):
        await stand_in.slash_command("reindex", dm=True, user="dora")
    asked = await stand_in.slash_command("ask", {"question": QUESTION}, dm=True, user="dora")
    await stand_in.wait_for_answer(asked)
    assert "expires Aug. 31" in answer_embed(asked)["description"]
    assert ("POST", CALLBACK) in routes(stand_in, requests_for(stand_in, asked))
