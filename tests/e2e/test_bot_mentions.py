"""Messages in channels and DMs: the bot answers what is addressed to it, with a reply that pings
nobody, and stays silent (no request at all) for everything else."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from stand_in import DiscordStandIn, FakeMember, FakeUser, World, default_world
from traffic import LOGIN, MESSAGES, message_bodies, pings_nobody, rendered_mentions, requests_for, routes

from bot import rendering
from index.retriever import SHORTENED_QUESTION

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(30)]

QUESTION = "When does the contract expire?"
HOSTILE = f"@everyone <@123> <@&456> **bold** {QUESTION} @here"
HOSTILE_ECHOED = "@\u200beveryone <@\u200b123> <@\u200b&456> \\*\\*bold\\*\\*"  # as the title shows it
QUOTE_BOT = FakeUser(1_200_000_000_000_000_021, "quote-bot", None, bot=True, discriminator="0420")


def with_quote_bot() -> World:
    """The default world with a second bot in the guild."""
    world = default_world()
    guild = dataclasses.replace(world.guild, members=(*world.guild.members, FakeMember(QUOTE_BOT)))
    return dataclasses.replace(world, guilds=(guild,))


async def reply_to(stand_in: DiscordStandIn, message: dict) -> dict:
    """The body of the bot's reply to ``message``."""
    request = await stand_in.wait_for_request(
        "POST",
        MESSAGES,
        where=lambda r: (
            int((r.body.get("message_reference") or {}).get("message_id", 0)) == int(message["id"])
        ),
    )
    return request.body


def assert_a_quiet_reply(body: dict, message: dict) -> None:
    """``body`` replies to ``message`` without pinging anyone, its author included."""
    reference = body["message_reference"]
    assert int(reference["message_id"]) == int(message["id"])
    assert reference["fail_if_not_exists"] is False  # still sent if the question was deleted
    assert body["allowed_mentions"] == {"parse": [], "replied_user": False}
    assert pings_nobody(body)


async def test_a_mention_gets_a_reply_to_that_message(stand_in: DiscordStandIn, article_bot) -> None:
    message = await stand_in.post_message("rita", f"{article_bot.user.mention} {QUESTION}")
    body = await reply_to(stand_in, message)

    assert routes(stand_in) == [*LOGIN, ("POST", MESSAGES)]
    assert_a_quiet_reply(body, message)
    [embed] = body["embeds"]
    assert embed["title"] == QUESTION
    stored = stand_in.messages.from_bot()
    assert [m["referenced_message"]["id"] for m in stored] == [message["id"]]


async def test_a_mention_of_the_bots_role_and_a_dm_are_answered_too(
    stand_in: DiscordStandIn, article_bot
) -> None:
    own_role = next(role for role in stand_in.world.guild.roles if role.bot_id == article_bot.user.id)
    by_role = await stand_in.post_message("ned", f"<@&{own_role.id}> {QUESTION}", channel="article-questions")
    assert by_role["mention_roles"] == [str(own_role.id)]
    assert_a_quiet_reply(await reply_to(stand_in, by_role), by_role)

    in_dm = await stand_in.post_message("dora", QUESTION, dm=True)
    body = await reply_to(stand_in, in_dm)
    assert_a_quiet_reply(body, in_dm)
    assert body["embeds"][0]["title"] == QUESTION
    assert routes(stand_in) == [*LOGIN, ("POST", MESSAGES), ("POST", MESSAGES)]


async def test_a_bare_mention_gets_how_to_ask(stand_in: DiscordStandIn, article_bot) -> None:
    message = await stand_in.post_message("ned", f"{article_bot.user.mention} hello!")
    body = await reply_to(stand_in, message)

    assert_a_quiet_reply(body, message)
    assert body["content"] == rendering.help_text(article_bot.user.display_name)
    assert rendered_mentions(body) == []


@pytest.mark.parametrize("world", [with_quote_bot()])
async def test_messages_not_addressed_to_it_get_no_request_at_all(
    stand_in: DiscordStandIn, article_bot
) -> None:
    me = article_bot.user.mention
    await stand_in.post_message("rita", QUESTION)  # no mention: its text doesn't even arrive
    everyone = await stand_in.post_message("olivia", "@everyone what's up")
    assert everyone["mention_everyone"] is True
    await stand_in.post_message("ned", "@here is anyone reading the article?")
    await stand_in.post_message(QUOTE_BOT, f"{me} {QUESTION}")  # another bot
    await stand_in.post_message(stand_in.world.bot, f"{me} {QUESTION}")  # itself
    # A question after them all: once it is answered, the ones before had their turn.
    last = await stand_in.post_message("ned", f"{me} {QUESTION}")
    await reply_to(stand_in, last)
    await asyncio.sleep(0.2)

    assert routes(stand_in) == [*LOGIN, ("POST", MESSAGES)]
    assert stand_in.messages.reactions == []
    assert stand_in.messages.typing == []


def padded(text: str, length: int) -> str:
    """``text`` repeated, then cut, to exactly ``length`` characters."""
    return ((text + " ") * (length // len(text) + 1))[:length]


def assert_answered_cleanly(body: dict) -> None:
    """An answer (a passage, or 'not covered') whose echoed question renders as text: no
    mention, no markdown; and the asker is told their question was shortened."""
    assert rendered_mentions(body) == []
    [embed] = body["embeds"]
    assert embed["title"].startswith(HOSTILE_ECHOED)
    if embed.get("fields"):
        assert embed["footer"]["text"].endswith(SHORTENED_QUESTION)
    else:
        assert embed["description"] == f"{SHORTENED_QUESTION}\n{rendering.NOT_COVERED}"


async def test_a_5000_character_question_full_of_mentions_and_markdown_pings_nobody(
    stand_in: DiscordStandIn, article_bot
) -> None:
    question = padded(HOSTILE, 5000)  # more than Discord lets anyone post; the bot must cope anyway
    message = await stand_in.post_message("rita", f"{article_bot.user.mention} {question}")
    assert message["mention_everyone"] is True  # rita may ping everyone: only the bot's reply must not
    body = await reply_to(stand_in, message)

    assert_a_quiet_reply(body, message)
    assert_answered_cleanly(body)
    assert routes(stand_in) == [*LOGIN, ("POST", MESSAGES)]


async def test_the_longest_ask_full_of_mentions_and_markdown_pings_nobody(
    stand_in: DiscordStandIn, article_bot
) -> None:
    # /ask takes at most 500 characters (the option's max_length, which Discord enforces).
    sent = await stand_in.slash_command("ask", {"question": padded(HOSTILE, 500)}, user="ned")
    await stand_in.wait_for_answer(sent)

    [body] = message_bodies(requests_for(stand_in, sent))
    assert pings_nobody(body)
    assert rendered_mentions(body) == []
    [embed] = body["embeds"]
    assert embed["title"].startswith(HOSTILE_ECHOED)
    assert SHORTENED_QUESTION not in str(embed)
