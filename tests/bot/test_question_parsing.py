"""Reading the question out of a mention."""

from __future__ import annotations

import pytest

from bot.questions import addresses_bot, question_from, wants_help

BOT = 111111111111111111
ROLE = 222222222222222222
OTHER = 333333333333333333


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (f"<@{BOT}> when does the contract expire?", "when does the contract expire?"),
        (f"<@!{BOT}> when does the contract expire?", "when does the contract expire?"),
        (f"<@&{ROLE}> who said it?", "who said it?"),
        (f"<@{BOT}>, who said it?", "who said it?"),
        (f"<@{BOT}>: who said it?", "who said it?"),
        (f"who said it <@{BOT}>?", "who said it ?"),
        (f"  <@{BOT}>\n\nwho   said\tit?  ", "who said it?"),
        (f"<@{BOT}> what did <@{OTHER}> say?", f"what did <@{OTHER}> say?"),
        (f"<@{BOT}>", ""),
        (f"<@{BOT}> <@!{BOT}>", ""),
    ],
)
def test_question_from(content: str, expected: str) -> None:
    assert question_from(content, bot_id=BOT, bot_role_id=ROLE) == expected


def test_other_role_mentions_stay() -> None:
    assert question_from(f"<@&{OTHER}> hi <@{BOT}> x", bot_id=BOT, bot_role_id=None) == f"<@&{OTHER}> hi x"


def test_addresses_bot_needs_the_bot_itself() -> None:
    assert addresses_bot([BOT], [], bot_id=BOT, bot_role_id=ROLE)
    assert addresses_bot([OTHER], [ROLE], bot_id=BOT, bot_role_id=ROLE)
    assert not addresses_bot([OTHER], [OTHER], bot_id=BOT, bot_role_id=ROLE)
    assert not addresses_bot([], [], bot_id=BOT, bot_role_id=ROLE)  # e.g. @everyone alone
    assert not addresses_bot([], [ROLE], bot_id=BOT, bot_role_id=None)


@pytest.mark.parametrize("text", ["", "help", "Help!", "hi", "hello.", "?"])
def test_wants_help(text: str) -> None:
    assert wants_help(text)


@pytest.mark.parametrize("text", ["help me understand the policy", "who is Jim Kenney?", "when?"])
def test_real_questions_do_not_want_help(text: str) -> None:
    assert not wants_help(text)
