"""Discord misbehaving, end to end: a gateway dropped five times, REST 500/502 then success, a
global 429, REST answering after 2 s, an interaction that expired, a login answered 503. The bot
does not crash, logs what it could not do, answers every question it can exactly once, and keeps
answering.

(One gateway close and per-route 429s on replies and interaction answers: test_bot_recovery.py.)
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
from collections import Counter
from typing import Any

import pytest
from stand_in import DiscordStandIn, SentInteraction, rate_limit, server_error, slow, unknown_interaction
from traffic import CALLBACK, LOGIN, MESSAGES, ORIGINAL, USER, answer_embed, requests_for, routes

from tests.fakes import FakeEmbedder

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

QUESTION = "When does the contract expire?"
ANSWER = "expires Aug. 31"
NO_COOLDOWN = {"ASK_COOLDOWN_SECONDS": "0"}


def replied_to(body: dict[str, Any]) -> int:
    return int((body.get("message_reference") or {}).get("message_id", 0))


def replies(stand_in: DiscordStandIn) -> Counter[int]:
    """How many replies the bot stored for each message (successful sends only)."""
    return Counter(
        int(m["message_reference"]["message_id"])
        for m in stand_in.messages.from_bot()
        if m.get("message_reference")
    )


async def wait_for_replies(stand_in: DiscordStandIn, messages: list[dict[str, Any]]) -> None:
    wanted = {int(message["id"]) for message in messages}
    await stand_in.wait_until(
        lambda: wanted <= replies(stand_in).keys(), timeout=15, what=f"replies to {len(wanted)} messages"
    )


def assert_answered_once(stand_in: DiscordStandIn, sent: SentInteraction) -> None:
    assert sent.acknowledged
    assert ANSWER in answer_embed(sent)["description"]
    assert sent.followups == []
    # Every request refused was refused by an injected fault: the bot never answered twice or late.
    assert all(request.status < 400 or request.fault for request in requests_for(stand_in, sent))


async def test_five_gateway_drops_in_a_row_lose_no_question_and_answer_none_twice(
    stand_in: DiscordStandIn, start_article_bot
) -> None:
    bot = await start_article_bot(env=NO_COOLDOWN)
    me = bot.user.mention
    messages, asked = [], []
    session = stand_in.gateway.current_session()

    # Codes after which Discord lets a session resume (1011: the websocket's own "internal error").
    for drop, code in enumerate((4000, 4001, 4002, 4008, 1011), start=1):
        messages.append(await stand_in.post_message("rita", f"{me} {QUESTION} (before drop {drop})"))
        await stand_in.close_gateway(code)
        messages.append(await stand_in.post_message("ned", f"{me} {QUESTION} (while down {drop})"))
        asked.append(await stand_in.slash_command("ask", {"question": QUESTION}, user="mona"))
        await stand_in.wait_for_resume(count=drop, timeout=10)
    await wait_for_replies(stand_in, messages)
    for sent in asked:
        await stand_in.wait_for_answer(sent)
    await asyncio.sleep(0.3)  # time for a duplicate to show up, if there were one

    assert stand_in.gateway.current_session() is session  # resumed each time, never a new session
    assert [frame.op for frame in stand_in.gateway.received].count(2) == 1  # one IDENTIFY in all
    assert replies(stand_in) == dict.fromkeys((int(message["id"]) for message in messages), 1)
    for sent in asked:
        assert_answered_once(stand_in, sent)
    assert len(stand_in.requests_to("POST", MESSAGES)) == len(messages)
    assert len(stand_in.requests_to("POST", CALLBACK)) == len(asked)


async def test_a_reply_that_gets_500_then_502_is_sent_again_and_arrives_once(
    stand_in: DiscordStandIn, article_bot
) -> None:
    stand_in.inject(server_error("POST", MESSAGES, status=500))
    stand_in.inject(server_error("POST", MESSAGES, status=502))
    message = await stand_in.post_message("rita", f"{article_bot.user.mention} {QUESTION}")

    await wait_for_replies(stand_in, [message])

    tries = stand_in.requests_to("POST", MESSAGES)
    assert [request.status for request in tries] == [500, 502, 200]
    assert tries[0].body == tries[1].body == tries[2].body
    assert replies(stand_in) == {int(message["id"]): 1}
    assert stand_in.faults.remaining() == []


async def test_an_interaction_answer_that_gets_a_502_is_sent_again_within_the_deadline(
    stand_in: DiscordStandIn, article_bot
) -> None:
    stand_in.inject(server_error("POST", CALLBACK, status=502))
    sent = await stand_in.slash_command("ask", {"question": QUESTION}, user="ned")

    await stand_in.wait_for_answer(sent)

    assert [request.status for request in requests_for(stand_in, sent)] == [502, 200]
    assert_answered_once(stand_in, sent)  # and the stand-in saw it within 3 s (else a problem)


async def test_a_deferred_answer_whose_fill_in_gets_500_is_sent_again(
    stand_in: DiscordStandIn, start_article_bot
) -> None:
    bot = await start_article_bot()
    bot.get_cog("QA").direct_reply_seconds = 0  # always "thinking…" first, then the answer
    stand_in.inject(server_error("PATCH", ORIGINAL, status=500))
    sent = await stand_in.slash_command("ask", {"question": QUESTION}, user="ned")

    await stand_in.wait_for_answer(sent, timeout=10)

    assert [request.status for request in requests_for(stand_in, sent)] == [200, 500, 200]
    assert sent.response_type == 5
    assert_answered_once(stand_in, sent)


async def test_a_global_rate_limit_holds_every_reply_until_it_passes_and_each_arrives_once(
    stand_in: DiscordStandIn, start_article_bot
) -> None:
    bot = await start_article_bot(env=NO_COOLDOWN)
    stand_in.inject(rate_limit("POST", MESSAGES, retry_after=0.5, is_global=True))
    messages = [
        await stand_in.post_message(user, f"{bot.user.mention} {QUESTION}")
        for user in ("rita", "ned", "mona")
    ]
    sent = await stand_in.slash_command("ask", {"question": QUESTION}, user="adam")

    await wait_for_replies(stand_in, messages)
    await stand_in.wait_for_answer(sent)

    tries = stand_in.requests_to("POST", MESSAGES)
    assert [request.status for request in tries].count(429) == 1
    assert len(tries) == len(messages) + 1  # the limited one was sent once more, nothing else
    assert replies(stand_in) == dict.fromkeys((int(message["id"]) for message in messages), 1)
    assert_answered_once(stand_in, sent)


async def test_rest_answering_after_2_s_delays_answers_but_loses_and_repeats_none(
    stand_in: DiscordStandIn, start_article_bot
) -> None:
    bot = await start_article_bot(env=NO_COOLDOWN)
    stand_in.inject(slow("POST", MESSAGES, 2.0))
    stand_in.inject(slow("POST", CALLBACK, 2.0))
    slow_reply = await stand_in.post_message("rita", f"{bot.user.mention} {QUESTION}")
    slow_answer = await stand_in.slash_command("ask", {"question": QUESTION}, user="ned")
    meanwhile = await stand_in.post_message("mona", f"{bot.user.mention} {QUESTION}")
    meanwhile_asked = await stand_in.slash_command("ask", {"question": QUESTION}, user="adam")

    await wait_for_replies(stand_in, [slow_reply, meanwhile])
    for sent in (slow_answer, meanwhile_asked):
        await stand_in.wait_for_answer(sent)
    await asyncio.sleep(0.3)

    assert replies(stand_in) == {int(slow_reply["id"]): 1, int(meanwhile["id"]): 1}
    for sent in (slow_answer, meanwhile_asked):
        assert_answered_once(stand_in, sent)
        assert [request.status for request in requests_for(stand_in, sent)] == [200]
    assert len(stand_in.requests_to("POST", MESSAGES)) == 2
    assert stand_in.faults.remaining() == []


async def test_an_expired_interaction_is_logged_not_retried_forever_and_the_bot_keeps_answering(
    stand_in: DiscordStandIn, article_bot, bot_errors, caplog: pytest.LogCaptureFixture
) -> None:
    # The answer, then the apology, both meet 404 Unknown interaction (10062).
    stand_in.inject(unknown_interaction(times=2))
    expired = await stand_in.slash_command("ask", {"question": QUESTION}, user="rita")
    await stand_in.wait_until(lambda: stand_in.faults.remaining() == [], what="both attempts")

    later = await stand_in.slash_command("ask", {"question": QUESTION}, user="ned")
    await stand_in.wait_for_answer(later)

    attempts = requests_for(stand_in, expired)
    assert [(request.status, request.response["code"]) for request in attempts] == [(404, 10062)] * 2
    assert not expired.acknowledged
    assert [
        message
        for message in stand_in.messages.from_bot()
        if message.get("interaction_metadata", {}).get("id") == str(expired.id)
    ] == []
    [error] = bot_errors
    assert f"error in ask (interaction {expired.id})" in error.getMessage()
    assert "Unknown interaction" in str(error.exc_info[1])
    assert f"could not reply to interaction {expired.id}" in caplog.text
    bot_errors.clear()
    assert_answered_once(stand_in, later)


@pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(), reason="signals need the main thread"
)
async def test_a_login_answered_503_twice_is_tried_again_and_the_bot_connects(
    stand_in: DiscordStandIn, settings, bot_errors, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.bot import build_bot
    from bot.runner import serve
    from bot.settings import BotSettings
    from index.startup import open_retriever

    stand_in.inject(server_error("GET", USER, status=503, times=2))  # discord.py doesn't retry a 503
    retriever, _ = open_retriever(settings, FakeEmbedder())
    bot = build_bot(BotSettings.from_env(stand_in.environment()), retriever, guild_ready_timeout=0.05)
    with caplog.at_level(logging.WARNING, logger="bot.runner"):
        serving = asyncio.create_task(serve(bot, stand_in.token, backoff=[0.01, 0.01, 0.01]))
        async with asyncio.timeout(10):
            while not bot.is_ready():
                assert not serving.done(), serving.result()
                await asyncio.sleep(0.01)
        extensions = {name: module for name, module in sys.modules.items() if name.startswith("bot.exts.")}
        os.kill(os.getpid(), signal.SIGTERM)
        assert await asyncio.wait_for(serving, 10) == 0
    sys.modules.update(extensions)  # closing unloaded them; tests/bot keep using their classes

    assert routes(stand_in)[: len(LOGIN) + 2] == [("GET", USER)] * 2 + LOGIN
    assert [request.status for request in stand_in.requests[:3]] == [503, 503, 200]
    retries = [record.getMessage() for record in caplog.records if record.name == "bot.runner"]
    assert len(retries) == 2, retries
    assert all(f"could not reach Discord at {stand_in.api_base_url}" in message for message in retries)
    assert "login attempt 3 of 4" in retries[-1]
