"""Follow-up questions in Discord: a DM's recent questions and a chain of replies to the bot's
answers are the context of the next question; memory is bounded and forgets."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from bot.bot import ArticleBot
from bot.conversations import CHAIN_MINUTES, DM_MINUTES, Conversations
from bot.exts.qa._cog import QA
from index.conversation import MAX_TURNS
from tests.bot.conftest import Clock
from tests.bot.discord_objects import BOT_ID, make_message
from tests.bot.fakes import FakeRetriever


def qa(bot: ArticleBot) -> QA:
    cog = bot.get_cog("QA")
    assert isinstance(cog, QA)
    return cog


def message(text: str, *, message_id: int, replying_to: int | None = None, dm: bool = False) -> Any:
    sent = make_message(text if dm else f"<@{BOT_ID}> {text}", dm=dm)
    sent.id = message_id
    sent.reference = SimpleNamespace(message_id=replying_to) if replying_to else None
    sent.channel.send.return_value = SimpleNamespace(id=message_id + 1)  # the bot's answer
    return sent


async def test_a_dm_question_follows_the_ones_asked_just_before(
    article_bot: ArticleBot, fake: FakeRetriever, clock: Clock
) -> None:
    cog = qa(article_bot)
    article_bot.cooldown.seconds = 0
    await cog.on_message(message("who is the city solicitor?", message_id=10, dm=True))
    await cog.on_message(message("when did he say it started?", message_id=20, dm=True))
    clock.now += DM_MINUTES * 60 + 1
    await cog.on_message(message("and the police?", message_id=30, dm=True))

    assert fake.afters == [[], ["who is the city solicitor?"], []]  # the last came too late


async def test_a_reply_to_an_answer_continues_its_conversation_and_a_new_mention_does_not(
    article_bot: ArticleBot, fake: FakeRetriever
) -> None:
    cog = qa(article_bot)
    article_bot.cooldown.seconds = 0
    await cog.on_message(message("who is the city solicitor?", message_id=100))  # answered by 101
    await cog.on_message(message("when did he say it started?", message_id=200, replying_to=101))
    await cog.on_message(message("and who signed it?", message_id=300, replying_to=201))
    await cog.on_message(message("what is Juntos?", message_id=400))  # a new question, not a reply

    assert fake.afters == [
        [],
        ["who is the city solicitor?"],
        ["who is the city solicitor?", "when did he say it started?"],
        [],
    ]


def test_a_conversation_keeps_its_last_turns_and_the_memory_is_bounded() -> None:
    clock = Clock()
    conversations = Conversations(clock=clock, capacity=2)
    for number in range(5):
        conversations.add("a", f"q{number}", places=[number])
    assert conversations.earlier("a", minutes=CHAIN_MINUTES) == ["q3", "q4"][-(MAX_TURNS - 1) :]
    assert conversations.continued_at(4) == "a"
    assert conversations.continued_at(99) is None
    conversations.add("b", "x")
    conversations.add("c", "y")  # over capacity: the least recent conversation goes
    assert conversations.earlier("a", minutes=CHAIN_MINUTES) == []
    assert len(conversations) == 2
    clock.now += CHAIN_MINUTES * 60 + 1
    assert conversations.earlier("c", minutes=CHAIN_MINUTES) == []  # expired
