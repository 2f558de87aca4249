"""Many people asking at once: every interaction gets exactly one answer, to its own question."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import pytest
from stand_in import DiscordStandIn
from traffic import (
    CALLBACK,
    LOGIN,
    ORIGINAL,
    answer_embed,
    message_bodies,
    pings_nobody,
    requests_for,
    routes,
)

from tests.conftest import DEV_QUESTIONS

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(30)]

USERS = ("olivia", "adam", "mona", "rita", "ned")


def dev_questions(count: int) -> list[str]:
    """The first ``count`` distinct questions of the dev set."""
    rows = [json.loads(line) for line in DEV_QUESTIONS.read_text().splitlines() if line.strip()]
    return list(dict.fromkeys(row["question"] for row in rows))[:count]


@pytest.mark.slow
async def test_twenty_questions_from_five_users_at_once_get_twenty_answers_each_to_its_own(
    stand_in: DiscordStandIn, start_article_bot, real_embedder, real_article_index
) -> None:
    # The real model, so the batch costs what it costs. The per-user cooldown is off: four
    # questions each within a second would otherwise be refused.
    await start_article_bot(real_embedder, env={"ASK_COOLDOWN_SECONDS": "0"}, index=real_article_index)
    questions = dev_questions(20)
    asked = await asyncio.gather(
        *(
            stand_in.slash_command("ask", {"question": question}, user=USERS[number % len(USERS)])
            for number, question in enumerate(questions)
        )
    )
    await asyncio.gather(*(stand_in.wait_for_answer(sent, timeout=10) for sent in asked))

    assert len(questions) == 20
    assert Counter(sent.user.username for sent in asked) == dict.fromkeys(USERS, 4)
    for question, sent in zip(questions, asked, strict=True):
        answered = requests_for(stand_in, sent)
        assert routes(stand_in, answered) in ([("POST", CALLBACK)], [("POST", CALLBACK), ("PATCH", ORIGINAL)])
        assert answered[0].path.split("/")[2] == str(sent.id)
        assert all(pings_nobody(body) for body in message_bodies(answered))
        assert answer_embed(sent)["title"] == question  # its own answer
        assert sent.original["interaction_metadata"]["id"] == str(sent.id)
        assert sent.followups == []
    bot_messages = stand_in.messages.from_bot()
    assert len(bot_messages) == 20
    assert sorted(m["interaction_metadata"]["id"] for m in bot_messages) == sorted(str(s.id) for s in asked)
    deferred = sum(sent.response_type == 5 for sent in asked)
    assert routes(stand_in)[: len(LOGIN)] == LOGIN
    answers = Counter(routes(stand_in)[len(LOGIN) :])
    assert answers == Counter({("POST", CALLBACK): 20, ("PATCH", ORIGINAL): deferred})  # nothing else
