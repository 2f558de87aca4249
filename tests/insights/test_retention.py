"""Deleting from the question log: the purge by age, one person's rows by their id, and starting
the log from the settings (nothing at all when QUESTION_LOG_DAYS is 0)."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text

from database.engine import NewerSchemaError, migrate, open_database
from index.settings import IndexSettings
from insights.recording import QuestionLog, VoteRecord, open_question_log
from insights.retention import forget_user, purge
from insights.schema import questions, votes
from tests.insights.test_recording import KEY, NOW, OTHER_USER, USER, question


async def seed(engine: Engine) -> tuple[str, str]:
    """Two questions (USER's, OTHER_USER's), each voted on by both; their answer ids."""
    log = QuestionLog(engine, KEY, retention_days=3650, flush_seconds=0.01, now=lambda: NOW)
    await log.start()
    mine, theirs = question(USER), question(OTHER_USER, asked_at=NOW - timedelta(days=10))
    for record in (mine, theirs):
        log.record_question(record)
        for user in (USER, OTHER_USER):
            log.record_vote(VoteRecord(record.answer_id, user, True, None, record.asked_at))
    await log.close()
    return mine.answer_id, theirs.answer_id


def counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as connection:
        return (
            len(connection.execute(select(questions.c.id)).all()),
            len(connection.execute(select(votes.c.answer_id)).all()),
        )


async def test_purge_deletes_what_is_older_and_says_how_much(engine: Engine):
    await seed(engine)

    assert purge(engine, NOW - timedelta(days=11)) == (0, 0)
    assert purge(engine, NOW - timedelta(days=9)) == (1, 2)
    assert counts(engine) == (1, 2)
    with pytest.raises(ValueError, match="aware"):
        purge(engine, NOW.replace(tzinfo=None))


async def test_forget_user_deletes_their_questions_and_votes_only(engine: Engine):
    mine, theirs = await seed(engine)

    assert forget_user(engine, KEY, USER) == 3  # one question, two votes
    assert forget_user(engine, KEY, USER) == 0
    assert forget_user(engine, b"another key" * 3, OTHER_USER) == 0  # a lost key finds nothing

    with engine.connect() as connection:
        assert connection.execute(select(questions.c.answer_id)).scalars().all() == [theirs]
        assert sorted(connection.execute(select(votes.c.answer_id)).scalars().all()) == sorted([mine, theirs])


def settings_for(database_url: str, days: int = 90) -> IndexSettings:
    return IndexSettings(database_url=database_url, question_log_days=days)


async def test_no_log_at_all_when_the_retention_is_zero(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"

    assert await open_question_log(settings_for(url, days=0), key_file=tmp_path / "key") is None
    assert not (tmp_path / "bot.sqlite3").exists()
    assert not (tmp_path / "key").exists()


async def test_the_log_from_the_settings_migrates_and_records(database_url: str, tmp_path: Path):
    log = await open_question_log(settings_for(database_url), key_file=tmp_path / "key")
    assert log is not None
    log.record_question(question())
    await log.close()

    assert counts(log.engine) == (1, 0)
    log.engine.dispose()


async def test_a_newer_database_stops_the_start(database_url: str, tmp_path: Path):
    engine = open_database(database_url)
    migrate(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    engine.dispose()

    with pytest.raises(NewerSchemaError, match="newer version of the bot"):
        await open_question_log(settings_for(database_url), key_file=tmp_path / "key")


async def test_a_database_down_at_start_is_migrated_once_it_is_back(tmp_path: Path, caplog):
    (tmp_path / "var").write_text("a file where the database's folder should be")
    url = f"sqlite:///{tmp_path / 'var' / 'sub' / 'bot.sqlite3'}"
    caplog.set_level(logging.WARNING)

    log = await open_question_log(settings_for(url), key_file=tmp_path / "key")

    assert log is not None
    assert "answering without recording until it can be reached" in caplog.text
    (tmp_path / "var").unlink()
    (tmp_path / "var" / "sub").mkdir(parents=True)
    log.record_question(question())
    await log.close()
    assert counts(log.engine) == (1, 0)
    log.engine.dispose()
