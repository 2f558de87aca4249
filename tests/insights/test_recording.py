"""QuestionLog: what the bot records is written off the event loop with user ids only as their HMAC;
a later vote replaces an earlier one; with the database down answering goes on (records dropped,
counted, one warning a minute); a full queue drops its oldest; close() writes what is queued."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, select, text

import insights.recording
from insights.identity import user_hash
from insights.recording import QuestionLog, QuestionRecord, VoteRecord, new_answer_id
from insights.schema import metadata, questions, votes

KEY = b"k" * 32
USER = 987_654_321_098_765_432
OTHER_USER = 123_456_789_012_345_678
UNAVAILABLE = r"question log unavailable: [^\n]+ \((\d+) records dropped so far\)"
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def question(user_id: int = USER, asked_at: datetime = NOW, **changes: object) -> QuestionRecord:
    values: dict[str, object] = {
        "answer_id": new_answer_id(),
        "asked_at": asked_at,
        "guild_id": 111_111_111_111_111_111,
        "channel_id": 222_222_222_222_222_222,
        "user_id": user_id,
        "via": "slash",
        "question": "when does the contract expire?",
        "confidence": "high",
        "passages": [("philadelphia-ice-arrest-data.txt", 3), ("philadelphia-ice-arrest-data.txt", 0)],
        "latency_ms": 12.5,
    }
    return QuestionRecord(**{**values, **changes})  # type: ignore[arg-type]


def vote(answer_id: str, helpful: bool, comment: str | None = None, user_id: int = USER) -> VoteRecord:
    return VoteRecord(answer_id, user_id, helpful, comment, NOW + timedelta(minutes=1))


def rows(engine: Engine, table) -> list[dict]:
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(select(table))]


def every_value(engine: Engine) -> str:
    """Every row of every table (Alembic's included), as text."""
    with engine.connect() as connection:
        names = [*metadata.tables, "alembic_version"]
        return "\n".join(
            repr(tuple(row)) for name in names for row in connection.execute(text(f"SELECT * FROM {name}"))
        )


async def eventually(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.005)


async def test_questions_and_votes_are_written_with_the_user_id_only_hashed(engine: Engine):
    log = QuestionLog(engine, KEY, retention_days=90, flush_seconds=0.01)
    await log.start()
    asked = question(asked_at=datetime(2025, 6, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))))
    log.record_question(asked)
    log.record_question(question(user_id=OTHER_USER, guild_id=None, channel_id=None, via="dm"))
    log.record_vote(vote(asked.answer_id, helpful=False, comment="  the date of the vote  "))
    await log.close()

    stored = sorted(rows(engine, questions), key=lambda row: row["guild_id"] is None)
    assert [row["user_hash"] for row in stored] == [user_hash(USER, KEY), user_hash(OTHER_USER, KEY)]
    first = stored[0]
    assert first["answer_id"] == asked.answer_id
    assert first["asked_at"].replace(tzinfo=UTC) == NOW  # written in UTC
    assert (first["guild_id"], first["channel_id"]) == (111_111_111_111_111_111, 222_222_222_222_222_222)
    assert (first["via"], first["question"], first["confidence"]) == ("slash", asked.question, "high")
    assert first["passages"] == [
        {"article": "philadelphia-ice-arrest-data.txt", "paragraph": 3},
        {"article": "philadelphia-ice-arrest-data.txt", "paragraph": 0},
    ]
    assert first["latency_ms"] == 12.5
    assert (stored[1]["guild_id"], stored[1]["via"]) == (None, "dm")
    [voted] = rows(engine, votes)
    assert voted["user_hash"] == user_hash(USER, KEY)
    assert (voted["helpful"], voted["comment"]) == (False, "the date of the vote")
    dump = every_value(engine)
    assert asked.answer_id in dump
    for raw in (USER, OTHER_USER):
        assert str(raw) not in dump
    assert (log.written, log.dropped, log.pending) == (3, 0, 0)


async def test_a_second_vote_replaces_the_first_in_one_batch_or_later(engine: Engine):
    log = QuestionLog(engine, KEY, retention_days=90, flush_seconds=0.01)
    await log.start()
    answer = new_answer_id()
    log.record_question(question(answer_id=answer))
    log.record_vote(vote(answer, helpful=True))
    log.record_vote(vote(answer, helpful=False, comment="wrong paragraph"))  # same batch
    log.record_vote(vote(answer, helpful=True, user_id=OTHER_USER))
    await eventually(lambda: log.written == 4)
    log.record_vote(vote(answer, helpful=True, comment="   "))  # a later batch
    await log.close()

    got = {row["user_hash"]: (row["helpful"], row["comment"]) for row in rows(engine, votes)}
    assert got == {user_hash(USER, KEY): (True, None), user_hash(OTHER_USER, KEY): (True, None)}


async def test_close_writes_what_is_queued(engine: Engine):
    log = QuestionLog(engine, KEY, retention_days=90, flush_seconds=3600)
    await log.start()
    await eventually(lambda: log._next_purge > 0)  # the first round (purge, flush) is done
    for _ in range(2_500):
        log.record_question(question())

    await log.close()

    assert len(rows(engine, questions)) == 2_500
    assert (log.written, log.dropped) == (2_500, 0)
    log.record_question(question())  # after close: counted, never raised
    assert log.dropped == 1


async def test_the_purge_at_start_deletes_only_what_is_older_than_the_retention(engine: Engine):
    old, recent = NOW - timedelta(days=30, minutes=1), NOW - timedelta(days=29, hours=23)
    seed = QuestionLog(engine, KEY, retention_days=3650, flush_seconds=0.01, now=lambda: NOW)
    await seed.start()
    kept_question, old_question = question(asked_at=recent), question(asked_at=old)
    for record in (kept_question, old_question):
        seed.record_question(record)
    seed.record_vote(VoteRecord(old_question.answer_id, USER, True, None, old))
    seed.record_vote(VoteRecord(old_question.answer_id, OTHER_USER, True, None, recent))
    await seed.close()

    log = QuestionLog(engine, KEY, retention_days=30, flush_seconds=0.01, now=lambda: NOW)
    await log.start()
    await eventually(lambda: len(rows(engine, questions)) == 1)
    await log.close()

    assert [row["answer_id"] for row in rows(engine, questions)] == [kept_question.answer_id]
    assert [row["user_hash"] for row in rows(engine, votes)] == [user_hash(OTHER_USER, KEY)]


async def test_the_purge_runs_again_a_day_later(engine: Engine):
    clock, now = [0.0], [NOW]
    log = QuestionLog(
        engine, KEY, retention_days=1, flush_seconds=0.01, clock=lambda: clock[0], now=lambda: now[0]
    )
    await log.start()
    log.record_question(question(asked_at=NOW))
    await eventually(lambda: log.written == 1)
    now[0] = NOW + timedelta(days=2)
    clock[0] = 86_399.0
    await asyncio.sleep(0.1)
    assert len(rows(engine, questions)) == 1  # not due yet

    clock[0] = 86_400.0
    await eventually(lambda: not rows(engine, questions))
    await log.close()


@pytest.fixture
def unreachable(database_url: str, tmp_path: Path, unused_tcp_port: int) -> Iterator[Engine]:
    """An engine of a database that can't be opened: a SQLite file under a file, or a PostgreSQL
    port nothing listens on."""
    if database_url.startswith("sqlite"):
        (tmp_path / "a-file").write_text("not a folder")
        engine = create_engine(f"sqlite:///{tmp_path / 'a-file' / 'bot.sqlite3'}")
    else:
        engine = create_engine(f"postgresql+psycopg://postgres:hunter2@127.0.0.1:{unused_tcp_port}/log")
    yield engine
    engine.dispose()


async def test_with_the_database_down_recording_never_raises_nor_waits(unreachable: Engine, caplog):
    log = QuestionLog(unreachable, KEY, retention_days=90, flush_seconds=0.01)
    await log.start()
    slowest = 0.0
    for round_ in range(20):
        for _ in range(50):
            started = time.perf_counter()
            log.record_question(question())
            log.record_vote(vote(new_answer_id(), helpful=True))
            slowest = max(slowest, time.perf_counter() - started)
        await eventually(lambda: log.dropped == 100 * (round_ + 1))  # noqa: B023
    await log.close()

    assert slowest < 0.05  # generous: it is a deque append
    assert log.written == 0
    assert "hunter2" not in caplog.text


async def test_one_warning_a_minute_however_many_failures(unreachable: Engine, caplog):
    clock = [1000.0]
    log = QuestionLog(unreachable, KEY, retention_days=90, flush_seconds=0.01, clock=lambda: clock[0])
    caplog.set_level(logging.WARNING, logger="insights.recording")
    await log.start()
    for second in range(0, 130, 10):  # 13 failures, at 0, 10, …, 120 seconds
        clock[0] = 1000.0 + second
        dropped = log.dropped
        log.record_question(question())
        await eventually(lambda: log.dropped > dropped)  # noqa: B023 - awaited in this iteration
    await log.close()

    warnings = [record.getMessage() for record in caplog.records if record.name == "insights.recording"]
    assert len(warnings) == 3, warnings  # at 0, 60 and 120 seconds
    counts = [int(re.fullmatch(UNAVAILABLE, message)[1]) for message in warnings]  # type: ignore[index]
    assert counts == sorted(counts)
    assert counts[-1] >= 12
    assert "\n" not in "".join(warnings)


async def test_writing_resumes_once_the_database_is_back(tmp_path: Path, caplog):
    (tmp_path / "var").write_text("a file where the database's folder should be")
    engine = create_engine(f"sqlite:///{tmp_path / 'var' / 'bot.sqlite3'}")
    log = QuestionLog(engine, KEY, retention_days=90, flush_seconds=0.01, migrated=False)
    caplog.set_level(logging.INFO, logger="insights.recording")
    await log.start()
    log.record_question(question())
    await eventually(lambda: log.dropped == 1)

    (tmp_path / "var").unlink()
    (tmp_path / "var").mkdir()
    log.record_question(question())
    await eventually(lambda: log.written == 1)
    await log.close()

    assert len(rows(engine, questions)) == 1
    assert "question log available again (1 records dropped so far)" in caplog.text
    engine.dispose()


async def test_a_full_queue_drops_its_oldest_and_counts_them(engine: Engine, monkeypatch):
    released = threading.Event()
    real_write = insights.recording.write_batch

    def blocked_write(*args: object) -> None:
        released.wait(30)
        real_write(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(insights.recording, "write_batch", blocked_write)
    log = QuestionLog(engine, KEY, retention_days=90, flush_seconds=0.01, max_pending=10_000)
    await log.start()
    log.record_question(question(question="the writer takes this one and blocks"))
    await eventually(lambda: log.pending == 0)

    records = [question(question=f"queued {n}") for n in range(10_500)]
    for record in records:
        log.record_question(record)
    assert (log.pending, log.dropped) == (10_000, 500)

    released.set()
    await log.close()

    written = {row["question"] for row in rows(engine, questions)}
    assert written == {"the writer takes this one and blocks"} | {r.question for r in records[500:]}
    assert (log.written, log.dropped) == (10_001, 500)


async def test_a_hung_database_never_stalls_the_event_loop():
    """The writer waits for a server that accepts and never answers (2 s: libpq's shortest connect
    timeout), for the purge at start and then for a batch; the loop keeps ticking meanwhile."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        port = silent.getsockname()[1]
        engine = create_engine(
            f"postgresql+psycopg://postgres@127.0.0.1:{port}/log", connect_args={"connect_timeout": 1}
        )
        log = QuestionLog(engine, KEY, retention_days=90, flush_seconds=0.01, close_seconds=0.2)
        await log.start()
        worst, started = 0.0, time.monotonic()
        while log.dropped == 0:  # until a batch has failed
            assert time.monotonic() - started < 30
            before = time.perf_counter()
            log.record_question(question())
            await asyncio.sleep(0.01)
            worst = max(worst, time.perf_counter() - before)
        await log.close()
        engine.dispose()

    assert worst < 0.25, f"the event loop stalled {worst:.2f} s"
    assert log.written == 0


def test_records_check_their_ids_and_times_and_tidy_the_comment():
    with pytest.raises(ValueError, match="answer_id"):
        question(answer_id="not-hex")
    with pytest.raises(ValueError, match="aware"):
        question(asked_at=datetime(2025, 6, 1, 12, 0))
    assert vote(new_answer_id(), True, comment="x" * 300).comment == "x" * 200
    assert vote(new_answer_id(), True, comment=" \n ").comment is None
    assert str(USER) not in repr(question()) + repr(vote(new_answer_id(), True))
    assert len(new_answer_id()) == 16
    assert new_answer_id() != new_answer_id()
