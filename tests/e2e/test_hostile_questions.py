"""Property, end to end: whatever text someone sends — control characters, zero-width and
right-to-left marks, emoji, 10,000 characters, only punctuation, markdown, code blocks, mention
and channel syntax, @everyone — the bot answers it (or says clearly what to do instead) with one
message that Discord accepts and that pings nobody, and it logs no error.

Every body the bot sends is validated by the stand-in against Discord's spec and limits; each
example checks that nothing was flagged, so hypothesis can shrink a failure to its smallest text.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stand_in import DiscordStandIn, SentInteraction
from traffic import MESSAGES, message_bodies, pings_nobody, rendered_mentions, requests_for

from bot import rendering
from index.retriever import EMPTY_QUESTION, MAX_QUESTION_CHARS
from tests.index.test_properties import PIECES

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

DISCORD_SYNTAX = [
    "<#1200000000000000110>",
    "<#1>",
    "<@1200000000000000014>",
    "<@!1200000000000000015>",
    "<@&1200000000000000101>",
    "<@&1200000000000000100>",  # the guild's @everyone role
    "@everyone",
    "@here",
    "@\u200beveryone",
    "<:blob:123456>",
    "<a:dance:654321>",
    "<t:1700000000:R>",
    "</ask:1>",
    "```python\nprint('hi')\n```",
    "`",
    "||spoiler||",
    "~~struck~~",
    "> quoted\n",
    "# Heading\n",
    "-# small\n",
    "\\",
    "\u200f",
    "\u202b",
    "\u2066",
    "🏳️‍🌈",
]
PIECE = st.sampled_from(PIECES + DISCORD_SYNTAX)
WORD = st.sampled_from("when does the contract expire mayor Kenney ICE city data arrest".split())
SHORT = st.lists(st.one_of(PIECE, WORD.map(lambda w: w + " "), st.text(max_size=20)), max_size=40).map(
    "".join
)
PUNCTUATION = st.text(alphabet="?!.,;:-—…'\"()[]{}*_~`|<>@#", min_size=1, max_size=300)
# Up to exactly 10,000 characters: more than Discord lets anyone post; the bot must cope anyway.
REPEATED = st.builds(
    lambda text, length: (text * (length // len(text) + 1))[:length],
    st.text(min_size=1, max_size=30) | PIECE,
    st.sampled_from([501, 2000, 4000, 10_000]),
)
HOSTILE = st.one_of(SHORT, PUNCTUATION, REPEATED, st.text(max_size=600))

EXAMPLES = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def assert_fits_and_pings_nobody(stand_in: DiscordStandIn, bodies: list[dict[str, Any]]) -> None:
    assert stand_in.problems() == []  # the spec, 2000 characters, the 6000-character embed budget
    for body in bodies:
        assert pings_nobody(body), body.get("allowed_mentions")
        assert rendered_mentions(body) == []


def assert_an_answer(body: dict[str, Any], *, help_text: str) -> None:
    """An answer embed (passages, "not covered", or what to do with an empty question), or how
    to ask."""
    if not body.get("embeds"):
        assert body["content"] in (help_text, rendering.NOTHING_TO_ASK)
        return
    [embed] = body["embeds"]
    if "description" not in embed:  # a "low" answer: the first passages' key sentences, a field each
        assert embed["fields"]
        assert all(field["value"].strip() for field in embed["fields"])
        return
    assert embed["description"].strip()
    if embed.get("title") is None:
        assert embed["description"] == EMPTY_QUESTION
    else:
        assert len(embed["title"]) <= rendering.QUESTION_CHARS


def replied_to(body: dict[str, Any]) -> int:
    return int((body.get("message_reference") or {}).get("message_id", 0))


async def the_reply(stand_in: DiscordStandIn, message: dict[str, Any]) -> dict[str, Any]:
    request = await stand_in.wait_for_request(
        "POST",
        MESSAGES,
        where=lambda r: replied_to(r.body) == int(message["id"]),
    )
    return request.body


def assert_one_reply_each(stand_in: DiscordStandIn) -> None:
    """No message got two replies (so far: a late duplicate shows up in a later example)."""
    replied = Counter(replied_to(request.body) for request in stand_in.requests_to("POST", MESSAGES))
    assert [message for message, count in replied.items() if count > 1] == []


@pytest.fixture
async def bot(start_article_bot):
    """The product's bot over the fake embedder, without the cooldown (one user asks them all)."""
    return await start_article_bot(env={"ASK_COOLDOWN_SECONDS": "0"})


@EXAMPLES
@given(before=HOSTILE, after=HOSTILE)
async def test_a_mention_with_any_text_around_it_gets_one_answer_that_fits_and_pings_nobody(
    stand_in: DiscordStandIn, bot, before: str, after: str
) -> None:
    message = await stand_in.post_message("rita", f"{before}{bot.user.mention} {after}")

    body = await the_reply(stand_in, message)

    assert_fits_and_pings_nobody(stand_in, [body])
    assert_an_answer(body, help_text=rendering.help_text(bot.user.display_name))
    assert_one_reply_each(stand_in)


@EXAMPLES
@given(text=HOSTILE)
async def test_a_dm_with_any_text_gets_one_answer_that_fits_and_pings_nobody(
    stand_in: DiscordStandIn, bot, text: str
) -> None:
    message = await stand_in.post_message("dora", text, dm=True)

    body = await the_reply(stand_in, message)

    assert_fits_and_pings_nobody(stand_in, [body])
    assert_an_answer(body, help_text=rendering.help_text(bot.user.display_name))
    assert_one_reply_each(stand_in)


def answer_of(stand_in: DiscordStandIn, sent: SentInteraction) -> dict[str, Any]:
    bodies = message_bodies(requests_for(stand_in, sent))
    assert_fits_and_pings_nobody(stand_in, bodies)
    assert sent.followups == []  # one answer: the response itself, filled in if deferred
    return bodies[-1]


# What Discord lets through the /ask option: 1 to 500 characters, not only whitespace.
ASK_OPTION = HOSTILE.map(lambda text: text[:MAX_QUESTION_CHARS]).filter(lambda text: text.strip())


@EXAMPLES
@given(question=ASK_OPTION)
async def test_ask_with_any_question_gets_one_answer_that_fits_and_pings_nobody(
    stand_in: DiscordStandIn, bot, question: str
) -> None:
    sent = await stand_in.slash_command("ask", {"question": question}, user="ned")
    await stand_in.wait_for_answer(sent)

    assert_an_answer(answer_of(stand_in, sent), help_text=rendering.help_text(bot.user.display_name))


@EXAMPLES
@given(text=HOSTILE)
async def test_ask_the_article_on_any_message_gets_one_private_answer_that_fits_and_pings_nobody(
    stand_in: DiscordStandIn, bot, text: str
) -> None:
    posted = await stand_in.post_message("rita", text)  # not addressed to the bot: no reply
    sent = await stand_in.message_command("Ask the article", posted, user="mona")
    await stand_in.wait_for_answer(sent)

    assert sent.ephemeral
    assert_an_answer(answer_of(stand_in, sent), help_text=rendering.help_text(bot.user.display_name))
