"""Answers in threads, through the stand-in: a mention is answered in a new public thread started
from the question (the thread-create call validated against Discord's spec by the stand-in), a
question in that thread continues its conversation, and where the bot may not start threads, or
is in a thread already, it replies in place. /ask opens a thread on its answer when asked."""

from __future__ import annotations

import pytest
from stand_in import DiscordStandIn, Fault
from traffic import CALLBACK, FOLLOWUP, MESSAGES, pings_nobody, routes

from bot import rendering
from bot.threads import AUTO_ARCHIVE_MINUTES

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

THREADS = "/channels/{channel_id}/messages/{message_id}/threads"
QUESTION = "When does the contract expire?"
JUNTOS = "Juntos, an immigrant advocacy group, said the city's decision will reduce the ability of ICE"


def shown_text(body: dict) -> str:
    """The words of an answer's embed, as a reader sees them."""
    [embed] = body["embeds"]
    fields = [field["value"] for field in embed.get("fields", [])]
    return " ".join([embed.get("description") or "", *fields]).replace("\\", "")


async def answer_in(stand_in: DiscordStandIn, channel_id: int, since: int) -> dict:
    """The body of the bot's next message in the channel or thread `channel_id`."""
    request = await stand_in.wait_for_request(
        "POST",
        MESSAGES,
        since=since,
        timeout=20,
        where=lambda r: r.path == f"/channels/{channel_id}/messages",
    )
    return request.body


async def test_a_mention_is_answered_in_a_new_thread_named_after_the_question(
    stand_in: DiscordStandIn, threading_bot
) -> None:
    question = await stand_in.post_message("rita", f"{threading_bot.user.mention} {QUESTION}")
    created = await stand_in.wait_for_request("POST", THREADS)
    answer = await answer_in(stand_in, int(question["id"]), since=0)

    assert created.path == f"/channels/{question['channel_id']}/messages/{question['id']}/threads"
    assert (created.body["name"], created.body["auto_archive_duration"]) == (QUESTION, AUTO_ARCHIVE_MINUTES)
    assert created.status == 201
    thread = stand_in.thread_of(question)
    assert thread is not None
    assert (thread.owner_id, thread.name) == (threading_bot.user.id, QUESTION)
    assert thread.auto_archive_duration == 1440  # a day
    assert "message_reference" not in answer  # the question heads the thread; no reply needed
    assert pings_nobody(answer)
    [embed] = answer["embeds"]
    assert embed["title"] == QUESTION
    assert [route for route in routes(stand_in) if route[0] == "POST"] == [
        ("POST", THREADS),
        ("POST", MESSAGES),
    ]


async def test_a_long_question_names_its_thread_within_discords_100_characters(
    stand_in: DiscordStandIn, threading_bot
) -> None:
    long = "When does the contract expire, and " + "what happens to the data after that " * 4 + "?"
    question = await stand_in.post_message("rita", f"{threading_bot.user.mention} {long}")
    created = await stand_in.wait_for_request("POST", THREADS)
    await answer_in(stand_in, int(question["id"]), since=0)

    name = created.body["name"]
    assert len(name) <= 100
    assert name.endswith("…")
    assert long.startswith(name.removesuffix("…"))


async def test_without_the_thread_permission_the_answer_is_a_reply_in_place(
    stand_in: DiscordStandIn, threading_bot
) -> None:
    question = await stand_in.post_message(
        "rita", f"{threading_bot.user.mention} {QUESTION}", channel="no-threads"
    )
    answer = await answer_in(stand_in, int(question["channel_id"]), since=0)

    assert int(answer["message_reference"]["message_id"]) == int(question["id"])
    assert not stand_in.requests_to("POST", THREADS)
    assert stand_in.threads == []


async def test_with_thread_replies_off_the_answer_is_a_reply_in_place(
    stand_in: DiscordStandIn, start_article_bot
) -> None:
    bot = await start_article_bot(env={"THREAD_REPLIES": "false"})
    question = await stand_in.post_message("rita", f"{bot.user.mention} {QUESTION}")
    answer = await answer_in(stand_in, int(question["channel_id"]), since=0)

    assert int(answer["message_reference"]["message_id"]) == int(question["id"])
    assert not stand_in.requests_to("POST", THREADS)


async def test_in_someone_elses_thread_the_bot_replies_in_place(
    stand_in: DiscordStandIn, threading_bot
) -> None:
    opener = await stand_in.post_message("ned", "Did anyone read the ICE story?")
    thread = await stand_in.start_thread("ned", opener, "ICE story")
    since = len(stand_in.requests)
    question = await stand_in.post_message(
        "rita", f"{threading_bot.user.mention} {QUESTION}", channel=thread.id
    )
    answer = await answer_in(stand_in, thread.id, since=since)

    assert int(answer["message_reference"]["message_id"]) == int(question["id"])
    assert not stand_in.requests_to("POST", THREADS)


async def test_when_discord_refuses_the_thread_the_answer_is_a_reply_in_place(
    stand_in: DiscordStandIn, threading_bot
) -> None:
    # someone started a thread on the message a moment before the bot: Discord's answer then
    stand_in.inject(
        Fault(
            "POST",
            THREADS,
            400,
            {"code": 160004, "message": "A thread has already been created for this message"},
        )
    )
    question = await stand_in.post_message("rita", f"{threading_bot.user.mention} {QUESTION}")
    answer = await answer_in(stand_in, int(question["channel_id"]), since=0)

    [refused] = stand_in.requests_to("POST", THREADS)
    assert refused.status == 400
    assert int(answer["message_reference"]["message_id"]) == int(question["id"])
    assert "embeds" in answer


async def test_ask_with_thread_opens_a_thread_on_its_answer(stand_in: DiscordStandIn, threading_bot) -> None:
    sent = await stand_in.slash_command("ask", {"question": QUESTION, "thread": True})
    await stand_in.wait_for_answer(sent)
    created = await stand_in.wait_for_request("POST", THREADS)

    answer = sent.original
    assert created.path.endswith(f"/messages/{answer['id']}/threads")
    assert created.body["name"] == QUESTION
    assert stand_in.thread_of(answer) is not None


async def test_a_private_ask_with_thread_says_why_there_is_no_thread(
    stand_in: DiscordStandIn, threading_bot
) -> None:
    sent = await stand_in.slash_command("ask", {"question": QUESTION, "thread": True, "private": True})
    await stand_in.wait_for_answer(sent)
    note = await stand_in.wait_for_request("POST", FOLLOWUP)

    assert note.body["content"] == rendering.PRIVATE_NO_THREAD
    assert note.body["flags"] & 64  # only the asker sees it
    assert not stand_in.requests_to("POST", THREADS)


async def test_ask_with_thread_where_threads_are_not_allowed_says_so(
    stand_in: DiscordStandIn, threading_bot
) -> None:
    sent = await stand_in.slash_command("ask", {"question": QUESTION, "thread": True}, channel="no-threads")
    await stand_in.wait_for_answer(sent)
    note = await stand_in.wait_for_request("POST", FOLLOWUP)

    assert note.body["content"] == rendering.NO_THREAD_HERE
    assert not stand_in.requests_to("POST", THREADS)
    assert stand_in.requests_to("POST", CALLBACK)


@pytest.mark.slow
async def test_a_follow_up_in_the_bots_thread_is_answered_with_its_context(
    stand_in: DiscordStandIn, real_threading_bot
) -> None:
    real_threading_bot.cooldown.seconds = 0
    bot = real_threading_bot.user
    question = await stand_in.post_message("rita", f"{bot.mention} what is juntos?")
    await answer_in(stand_in, int(question["id"]), since=0)
    thread = stand_in.thread_of(question)
    assert thread is not None

    since = len(stand_in.requests)
    follow_up = await stand_in.post_message("rita", f"{bot.mention} what did they say?", channel=thread.id)
    answer = await answer_in(stand_in, thread.id, since=since)

    assert int(answer["message_reference"]["message_id"]) == int(follow_up["id"])
    assert JUNTOS in shown_text(answer)
    assert len(stand_in.threads) == 1  # no thread inside the thread


@pytest.mark.slow
async def test_a_follow_up_in_the_thread_of_an_ask_is_answered_with_its_context(
    stand_in: DiscordStandIn, real_threading_bot
) -> None:
    real_threading_bot.cooldown.seconds = 0
    bot = real_threading_bot.user
    sent = await stand_in.slash_command("ask", {"question": "what is juntos?", "thread": True})
    await stand_in.wait_for_answer(sent, timeout=20)
    await stand_in.wait_for_request("POST", THREADS, timeout=20)
    thread = stand_in.thread_of(sent.original)
    assert thread is not None

    since = len(stand_in.requests)
    await stand_in.post_message("rita", f"{bot.mention} what did they say?", channel=thread.id)
    answer = await answer_in(stand_in, thread.id, since=since)

    assert JUNTOS in shown_text(answer)


@pytest.mark.slow
async def test_a_question_alone_in_a_channel_is_not_taken_for_a_follow_up(
    stand_in: DiscordStandIn, real_threading_bot
) -> None:
    real_threading_bot.cooldown.seconds = 0
    bot = real_threading_bot.user
    first = await stand_in.post_message("rita", f"{bot.mention} what is juntos?")
    await answer_in(stand_in, int(first["id"]), since=0)

    since = len(stand_in.requests)
    second = await stand_in.post_message("rita", f"{bot.mention} what did they say?")  # a new thread
    answer = await answer_in(stand_in, int(second["id"]), since=since)

    assert JUNTOS not in shown_text(answer)
