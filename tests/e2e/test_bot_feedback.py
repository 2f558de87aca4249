"""Feedback and insights through the stand-in: the Helpful / Not helpful buttons under answers, the
"what were you looking for?" form, a second vote replacing the first, and /insights — all written to
a real question log (SQLite in tmp_path, migrated by Alembic) and read back from it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select
from stand_in import DiscordStandIn
from traffic import ORIGINAL, button_ids

from bot import rendering
from bot.permissions import INSIGHTS_NOT_ALLOWED
from database.engine import migrate, open_database
from insights.identity import user_hash
from insights.recording import QuestionLog
from insights.schema import questions, votes

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

KEY = b"e2e-question-log-key-of-32-bytes"
QUESTION = "When does the contract expire?"


@pytest.fixture
async def question_log(tmp_path: Path) -> AsyncIterator[QuestionLog]:
    engine = open_database(f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    migrate(engine)
    log = QuestionLog(engine, KEY, retention_days=90, flush_seconds=0.05)
    yield log
    await log.close()
    engine.dispose()


def rows(log: QuestionLog, table) -> list:
    with log.engine.connect() as connection:
        return list(connection.execute(select(table)))


async def asked(stand_in: DiscordStandIn, user: str = "rita") -> dict:
    sent = await stand_in.slash_command("ask", {"question": QUESTION}, user=user)
    await stand_in.wait_for_answer(sent)
    return sent.original


async def test_an_answer_is_recorded_with_the_user_hashed_and_votes_on_it_replace_each_other(
    stand_in: DiscordStandIn, start_article_bot, question_log: QuestionLog
) -> None:
    await start_article_bot(question_log=question_log)
    answer = await asked(stand_in)
    helpful, not_helpful = (b for b in button_ids(answer) if b.startswith("feedback:"))
    await question_log.flush()

    [row] = rows(question_log, questions)
    rita = stand_in.world.user("rita")
    assert helpful == f"feedback:{row.answer_id}:up"
    assert not_helpful == f"feedback:{row.answer_id}:down"
    assert (row.via, row.question, row.confidence) == ("slash", QUESTION, "high")
    assert (row.guild_id, row.user_hash) == (stand_in.world.guild.id, user_hash(rita.id, KEY))
    assert str(rita.id) not in str(list(row))  # the id only as its keyed hash

    pressed = await stand_in.press_button(answer, helpful, user="rita")
    await stand_in.wait_for_answer(pressed)
    assert (pressed.ephemeral, pressed.original["content"]) == (True, rendering.THANKS_HELPFUL)
    await question_log.flush()
    assert [(v.helpful, v.comment) for v in rows(question_log, votes)] == [(True, None)]

    opened = await stand_in.press_button(answer, not_helpful, user="rita")
    await stand_in.wait_for_answer(opened)
    assert opened.response_type == 9  # the form
    [[field]] = [row["components"] for row in opened.callback_data["components"]]
    submitted = await stand_in.submit_modal(opened, {field["custom_id"]: "how long the contract ran"})
    await stand_in.wait_for_answer(submitted)
    assert (submitted.ephemeral, submitted.original["content"]) == (True, rendering.THANKS_NOT_HELPFUL)
    await question_log.flush()
    # one vote per person per answer: the second replaced the first
    assert [(v.helpful, v.comment) for v in rows(question_log, votes)] == [
        (False, "how long the contract ran")
    ]

    other = await stand_in.press_button(answer, helpful, user="ned")
    await stand_in.wait_for_answer(other)
    await question_log.flush()
    assert sorted(v.helpful for v in rows(question_log, votes)) == [False, True]


# The restart takes milliseconds here; a real one takes longer than Discord's 5 s identify window.
@pytest.mark.parametrize("stand_in_options", [{"identify_window": 0.0}])
async def test_the_buttons_work_after_a_restart(
    stand_in: DiscordStandIn, start_article_bot, question_log: QuestionLog
) -> None:
    first = await start_article_bot(question_log=question_log)
    answer = await asked(stand_in)
    helpful = next(b for b in button_ids(answer) if b.endswith(":up"))
    await first.close()

    await start_article_bot(question_log=question_log)  # a new process would rebuild it the same way
    pressed = await stand_in.press_button(answer, helpful, user="rita")
    await stand_in.wait_for_answer(pressed)
    assert pressed.original["content"] == rendering.THANKS_HELPFUL


async def test_insights_are_refused_to_everyone_but_the_bots_admins(
    stand_in: DiscordStandIn, start_article_bot, question_log: QuestionLog
) -> None:
    await start_article_bot(question_log=question_log)
    for user in ("rita", "adam"):  # a member; a server admin
        sent = await stand_in.slash_command("insights", {}, user=user)
        await stand_in.wait_for_answer(sent)
        assert (sent.ephemeral, sent.original["content"]) == (True, INSIGHTS_NOT_ALLOWED)


async def test_insights_for_an_admin_come_privately_with_the_chart_attached(
    stand_in: DiscordStandIn, start_article_bot, question_log: QuestionLog
) -> None:
    await start_article_bot(question_log=question_log, env={"ASK_COOLDOWN_SECONDS": "0"})
    await asked(stand_in)
    sent = await stand_in.slash_command(
        "ask", {"question": "What is the recipe for sourdough bread?"}, user="ned"
    )
    await stand_in.wait_for_answer(sent)
    await question_log.flush()

    since = len(stand_in.requests)
    report = await stand_in.slash_command("insights", {"days": 7}, user="olivia")
    await stand_in.wait_for_answer(report, timeout=30)

    assert report.ephemeral
    [embed] = report.original["embeds"]
    assert embed["title"] == "Insights: the last 7 days"
    assert embed["description"].startswith("**2** questions")
    assert "sourdough" in str(embed["fields"])  # what the article doesn't cover
    assert embed["image"]["url"] == "attachment://questions-per-day.png"
    [edit] = [r for r in stand_in.requests[since:] if r.matches("PATCH", ORIGINAL)]
    [attachment] = report.original["attachments"]
    assert attachment["filename"] == "questions-per-day.png"
    assert edit is not None
