"""The "Ask the article" message command and the "More passages" button, with the real model: the
answer and the extra passages go only to the person who asked for them."""

from __future__ import annotations

import pytest
from stand_in import DiscordStandIn
from traffic import (
    DEFERRED_ANSWER,
    DIRECT_ANSWER,
    LOGIN,
    MESSAGES,
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
QUESTION = "When does the contract expire?"


async def test_ask_the_article_on_a_message_answers_its_text_privately(
    stand_in: DiscordStandIn, real_article_bot
) -> None:
    posted = await stand_in.post_message("ned", QUESTION)  # not for the bot: no answer of its own
    sent = await stand_in.message_command("Ask the article", posted, user="mona")
    await stand_in.wait_for_answer(sent)

    answered = requests_for(stand_in, sent)
    assert routes(stand_in, answered) in (DIRECT_ANSWER, DEFERRED_ANSWER)
    assert routes(stand_in) == LOGIN + routes(stand_in, answered)
    assert all(pings_nobody(body) for body in message_bodies(answered))
    assert sent.ephemeral
    embed = answer_embed(sent)
    assert embed["title"] == QUESTION
    assert "expires Aug. 31" in embed["description"]
    assert embed["fields"][0]["value"] == f"{ARTICLE} · ¶3"

    [more] = button_ids(sent.original)
    pressed = await stand_in.press_button(sent.original, more, user="mona")
    await stand_in.wait_for_answer(pressed)
    assert pressed.response_type == 4
    assert pressed.ephemeral
    assert [e["title"] for e in pressed.original["embeds"]] == ["Passage 2 of 3", "Passage 3 of 3"]


async def test_a_message_with_nothing_to_ask_is_told_so(stand_in: DiscordStandIn, real_article_bot) -> None:
    posted = await stand_in.post_message("ned", real_article_bot.user.mention)  # gets how to ask
    await stand_in.wait_for_request("POST", MESSAGES)
    sent = await stand_in.message_command("Ask the article", posted, user="rita")
    await stand_in.wait_for_answer(sent)

    assert sent.ephemeral
    assert sent.original["content"] == rendering.NOTHING_TO_ASK
    assert routes(stand_in) == [*LOGIN, ("POST", MESSAGES), *DIRECT_ANSWER]


async def test_more_passages_under_a_public_answer_shows_the_presser_the_next_two_privately(
    stand_in: DiscordStandIn, real_article_bot
) -> None:
    asked = await stand_in.slash_command("ask", {"question": QUESTION}, user="rita")
    await stand_in.wait_for_answer(asked)
    answer = dict(asked.original)
    [more] = button_ids(asked.original)
    before = len(stand_in.requests)

    pressed = await stand_in.press_button(asked.original, more, user="ned")
    await stand_in.wait_for_answer(pressed)

    assert routes(stand_in, stand_in.requests[before:]) == DIRECT_ANSWER  # no edit of rita's answer
    assert asked.original == answer
    [body] = message_bodies(requests_for(stand_in, pressed))
    assert pings_nobody(body)
    assert pressed.response_type == 4
    assert pressed.ephemeral
    assert pressed.user.username == "ned"
    first, second = pressed.original["embeds"]
    assert (first["title"], second["title"]) == ("Passage 2 of 3", "Passage 3 of 3")
    citations = [embed["fields"][0]["value"] for embed in (answer_embed(asked), first, second)]
    assert len(set(citations)) == 3  # three different paragraphs
    assert all(citation.startswith(f"{ARTICLE} · ¶") for citation in citations)
    assert all("**" in embed["description"] for embed in (first, second))  # each with its key sentence
