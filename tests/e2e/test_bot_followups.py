"""Follow-up questions through the stand-in, with the real model: in a DM, and by replying to one
of the bot's answers (with the reply ping, which mentions the bot). "What did they say?" alone is
answered from the mayor's words; after "what is Juntos?" it is Juntos's statement."""

from __future__ import annotations

import pytest
from stand_in import DiscordStandIn
from traffic import MESSAGES

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(60)]

JUNTOS = "Juntos, an immigrant advocacy group, said the city's decision will reduce the ability of ICE"


async def answer_to(stand_in: DiscordStandIn, since: int) -> dict:
    reply = await stand_in.wait_for_request("POST", MESSAGES, since=since, timeout=20)
    [embed] = reply.body["embeds"]
    shown = " ".join([embed.get("description") or "", *(field["value"] for field in embed.get("fields", []))])
    return {"embed": embed, "text": shown.replace("\\", "")}


async def test_a_dm_follow_up_is_answered_in_its_conversation(
    stand_in: DiscordStandIn, real_article_bot
) -> None:
    real_article_bot.cooldown.seconds = 0
    since = len(stand_in.requests)
    await stand_in.post_message("dora", "what is juntos?", dm=True)
    await answer_to(stand_in, since)

    since = len(stand_in.requests)
    await stand_in.post_message("dora", "what did they say?", dm=True)
    followed = await answer_to(stand_in, since)

    assert JUNTOS in followed["text"]


async def test_a_question_alone_is_not_taken_for_a_follow_up(
    stand_in: DiscordStandIn, real_article_bot
) -> None:
    since = len(stand_in.requests)
    await stand_in.post_message("dora", "what did they say?", dm=True)
    alone = await answer_to(stand_in, since)
    assert JUNTOS not in alone["text"]


async def test_a_reply_to_an_answer_is_a_follow_up(stand_in: DiscordStandIn, real_article_bot) -> None:
    real_article_bot.cooldown.seconds = 0
    bot = real_article_bot.user
    since = len(stand_in.requests)
    await stand_in.post_message("rita", f"{bot.mention} what is juntos?")
    await stand_in.wait_for_request("POST", MESSAGES, since=since, timeout=20)
    answer = list(stand_in.messages.from_bot())[-1]

    since = len(stand_in.requests)
    await stand_in.post_message("rita", f"{bot.mention} what did they say?", reply_to=answer)
    followed = await answer_to(stand_in, since)

    assert JUNTOS in followed["text"]
