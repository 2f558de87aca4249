"""/ask and /about with the real model: the right paragraph, cited and bolded; a plain "not
covered" for what the article doesn't report; nobody pinged."""

from __future__ import annotations

import pytest
from stand_in import DiscordStandIn
from traffic import (
    DEFERRED_ANSWER,
    DIRECT_ANSWER,
    LOGIN,
    answer_embed,
    button_ids,
    message_bodies,
    pings_nobody,
    requests_for,
    routes,
)

from bot import rendering

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(30)]

ARTICLE = "Philadelphia To Stop Giving ICE Real-Time Arrest Data"
EXPIRY = "The decision by the mayor means the city will not renew a contract that expires Aug. 31."


async def test_ask_answers_with_the_paragraph_that_says_when_the_contract_expires(
    stand_in: DiscordStandIn, real_article_bot
) -> None:
    sent = await stand_in.slash_command("ask", {"question": "When does the contract expire?"}, user="rita")
    await stand_in.wait_for_answer(sent)

    answered = requests_for(stand_in, sent)
    assert routes(stand_in, answered) in (DIRECT_ANSWER, DEFERRED_ANSWER)
    assert routes(stand_in) == LOGIN + routes(stand_in, answered)  # and nothing else
    assert all(pings_nobody(body) for body in message_bodies(answered))
    assert not sent.ephemeral
    embed = answer_embed(sent)
    assert embed["title"] == "When does the contract expire?"
    assert embed["description"] == f"**{EXPIRY}**"  # a one-sentence passage is its own key sentence
    assert embed["fields"] == [{"name": "Source", "value": f"{ARTICLE} · ¶3", "inline": False}]
    assert embed["footer"]["text"] == rendering.CONFIDENCE_WORDS["high"]
    [more] = button_ids(sent.original)
    assert more.startswith("more-passages:")


async def test_ask_private_answers_only_the_asker(stand_in: DiscordStandIn, real_article_bot) -> None:
    sent = await stand_in.slash_command(
        "ask",
        {"question": "Does Philadelphia release inmates to ICE?", "private": True},
        user="ned",
        channel="article-questions",
    )
    await stand_in.wait_for_answer(sent)

    assert sent.ephemeral
    embed = answer_embed(sent)
    assert "**It won't release inmates to ICE without a judicial warrant.**" in embed["description"]
    assert embed["fields"][0]["value"] == f"{ARTICLE} · ¶5"
    assert stand_in.messages.in_channel(stand_in.world.channel("article-questions").id) == [sent.original]


async def test_an_off_topic_question_gets_the_polite_not_covered_answer_without_a_passage(
    stand_in: DiscordStandIn, real_article_bot
) -> None:
    sent = await stand_in.slash_command("ask", {"question": "What is the capital of France?"}, user="ned")
    await stand_in.wait_for_answer(sent)

    answered = requests_for(stand_in, sent)
    assert routes(stand_in) == LOGIN + routes(stand_in, answered)
    assert routes(stand_in, answered) in (DIRECT_ANSWER, DEFERRED_ANSWER)
    assert all(pings_nobody(body) for body in message_bodies(answered))
    embed = answer_embed(sent)
    assert embed["title"] == "What is the capital of France?"
    assert embed["description"] == rendering.NOT_COVERED
    assert "fields" not in embed  # no passage, no citation
    assert "footer" not in embed
    assert button_ids(sent.original) == []


async def test_about_names_the_article_privately(stand_in: DiscordStandIn, real_article_bot) -> None:
    sent = await stand_in.slash_command("about", user="ned")
    await stand_in.wait_for_answer(sent)

    assert routes(stand_in)[len(LOGIN) :] == DIRECT_ANSWER
    assert sent.ephemeral
    [embed] = sent.original["embeds"]
    fields = {field["name"]: field["value"] for field in embed["fields"]}
    assert fields["Article"] == f"• {ARTICLE}"
    assert fields["Index"].startswith(f"{real_article_bot.retriever.info.passages} passages, built <t:")
