"""Discord's everyday hiccups: a dropped gateway is resumed (not re-identified) and nothing said
meanwhile is lost or answered twice; a 429 is waited out and the answer arrives exactly once."""

from __future__ import annotations

import pytest
from stand_in import DiscordStandIn, rate_limit
from traffic import CALLBACK, LOGIN, MESSAGES, answer_embed, routes

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(30)]

QUESTION = "When does the contract expire?"
IDENTIFY, RESUME = 2, 6


async def test_a_closed_gateway_is_resumed_and_questions_are_answered_once(
    stand_in: DiscordStandIn, article_bot
) -> None:
    session = stand_in.gateway.current_session()
    await stand_in.close_gateway(4000)
    while_down = await stand_in.post_message("rita", f"{article_bot.user.mention} {QUESTION}")
    resumed = await stand_in.wait_for_resume()

    assert resumed is session
    assert [frame.op for frame in stand_in.gateway.received if frame.op in (IDENTIFY, RESUME)] == [
        IDENTIFY,
        RESUME,
    ]
    assert [socket.path for socket in stand_in.gateway.opened] == ["/gateway", "/gateway-resume"]

    reply = await stand_in.wait_for_request("POST", MESSAGES)  # the replayed question
    assert int(reply.body["message_reference"]["message_id"]) == int(while_down["id"])
    sent = await stand_in.slash_command("ask", {"question": QUESTION}, user="ned")
    await stand_in.wait_for_answer(sent)
    assert answer_embed(sent)["title"] == QUESTION
    assert routes(stand_in) == [*LOGIN, ("POST", MESSAGES), ("POST", CALLBACK)]


async def test_a_rate_limited_reply_is_sent_again_after_retry_after_and_arrives_once(
    stand_in: DiscordStandIn, article_bot
) -> None:
    stand_in.inject(rate_limit("POST", MESSAGES, retry_after=0.3))
    message = await stand_in.post_message("rita", f"{article_bot.user.mention} {QUESTION}")
    await stand_in.wait_until(lambda: len(stand_in.messages.from_bot()) == 1, what="the reply")

    limited, sent = stand_in.requests_to("POST", MESSAGES)
    assert (limited.status, sent.status) == (429, 200)
    assert sent.received_at - limited.answered_at >= 0.3
    assert sent.body == limited.body
    [reply] = stand_in.messages.from_bot()
    assert reply["referenced_message"]["id"] == message["id"]
    assert routes(stand_in) == [*LOGIN, ("POST", MESSAGES), ("POST", MESSAGES)]
    assert stand_in.faults.remaining() == []


async def test_a_rate_limited_interaction_answer_is_sent_again_and_arrives_once(
    stand_in: DiscordStandIn, article_bot
) -> None:
    stand_in.inject(rate_limit("POST", CALLBACK, retry_after=0.3))
    sent = await stand_in.slash_command("ask", {"question": QUESTION}, user="rita")
    await stand_in.wait_for_answer(sent)

    limited, answered = stand_in.requests_to("POST", CALLBACK)
    assert (limited.status, answered.status) == (429, 200)
    assert answered.received_at - limited.answered_at >= 0.3
    assert sent.response_type == 4
    assert answer_embed(sent)["title"] == QUESTION
    assert len(stand_in.messages.from_bot()) == 1
    assert routes(stand_in) == [*LOGIN, ("POST", CALLBACK), ("POST", CALLBACK)]
