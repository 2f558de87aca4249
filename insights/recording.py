"""Recording what is asked through Discord, without slowing or breaking the answers: the bot's event
loop only appends to a queue (`record_question`, `record_vote` never wait and never raise); a task
writes the queue in batches from a worker thread, one transaction per batch, and purges what is older
than the retention at start and daily. With the database down, batches are dropped and counted, with
one warning a minute at most, and answering goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from database.engine import DatabaseError, NewerSchemaError, migrate, open_database, reason
from index.settings import IndexSettings
from insights.identity import KEY_FILE, load_key, user_hash
from insights.retention import purge
from insights.schema import ANSWER_ID_CHARS, questions, votes

log = logging.getLogger(__name__)

MAX_COMMENT_CHARS = 200
BATCH = 1_000  # records per transaction
WARN_EVERY_SECONDS = 60.0
PURGE_EVERY_SECONDS = 86_400.0
RETRY_PURGE_SECONDS = 60.0
_ANSWER_ID = re.compile(rf"[0-9a-f]{{{ANSWER_ID_CHARS}}}")


def new_answer_id() -> str:
    """A random id for one answer: what its feedback buttons carry and its votes point to."""
    return secrets.token_hex(ANSWER_ID_CHARS // 2)


def utc_now() -> datetime:
    return datetime.now(UTC)


def _check(answer_id: str, moment: datetime) -> None:
    if not _ANSWER_ID.fullmatch(answer_id):
        raise ValueError(f"answer_id must be {ANSWER_ID_CHARS} lowercase hex digits (new_answer_id())")
    if moment.tzinfo is None:
        raise ValueError("times must be aware datetimes (datetime.now(UTC))")


@dataclass(frozen=True, slots=True)
class QuestionRecord:
    """One question answered through Discord. `user_id` is hashed before it is written (and kept out
    of the repr, so it never reaches a log line)."""

    answer_id: str
    asked_at: datetime
    guild_id: int | None  # None in DMs
    channel_id: int | None
    user_id: int = field(repr=False)
    via: str  # mention | slash | dm | menu
    question: str
    confidence: str  # high | low | none
    passages: Sequence[tuple[str, int]]  # shown, best first: (article source, paragraph)
    latency_ms: float

    def __post_init__(self) -> None:
        _check(self.answer_id, self.asked_at)
        object.__setattr__(self, "passages", tuple((str(a), int(p)) for a, p in self.passages))


@dataclass(frozen=True, slots=True)
class VoteRecord:
    """One person's rating of one answer; a later vote by the same person on it replaces this one.
    `comment` is stripped, cut to 200 characters, None when blank."""

    answer_id: str
    user_id: int = field(repr=False)
    helpful: bool
    comment: str | None
    voted_at: datetime

    def __post_init__(self) -> None:
        _check(self.answer_id, self.voted_at)
        comment = (self.comment or "").strip()[:MAX_COMMENT_CHARS].strip()
        object.__setattr__(self, "comment", comment or None)


Record = QuestionRecord | VoteRecord


def write_batch(engine: Engine, key: bytes, batch: Sequence[Record]) -> None:
    """Writes `batch` in one transaction: questions inserted (an answer id already there is kept),
    votes upserted (the latest per person and answer wins). Runs in a worker thread."""
    asked: dict[str, dict[str, object]] = {}
    voted: dict[tuple[str, str], dict[str, object]] = {}
    for record in batch:
        hashed = user_hash(record.user_id, key)
        if isinstance(record, QuestionRecord):
            asked.setdefault(record.answer_id, _question_row(record, hashed))
        else:
            voted[record.answer_id, hashed] = _vote_row(record, hashed)
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    with engine.begin() as connection:
        if asked:
            statement = insert(questions).on_conflict_do_nothing(index_elements=["answer_id"])
            connection.execute(statement, list(asked.values()))
        if voted:
            upsert = insert(votes)
            upsert = upsert.on_conflict_do_update(
                index_elements=["answer_id", "user_hash"],
                set_={name: upsert.excluded[name] for name in ("helpful", "comment", "voted_at")},
            )
            connection.execute(upsert, list(voted.values()))


def _question_row(record: QuestionRecord, hashed: str) -> dict[str, object]:
    return {
        "answer_id": record.answer_id,
        "asked_at": record.asked_at.astimezone(UTC),  # SQLite keeps no time zone: all rows in UTC
        "guild_id": record.guild_id,
        "channel_id": record.channel_id,
        "user_hash": hashed,
        "via": record.via,
        "question": record.question,
        "confidence": record.confidence,
        "passages": [{"article": article, "paragraph": paragraph} for article, paragraph in record.passages],
        "latency_ms": float(record.latency_ms),
    }


def _vote_row(record: VoteRecord, hashed: str) -> dict[str, object]:
    return {
        "answer_id": record.answer_id,
        "user_hash": hashed,
        "helpful": bool(record.helpful),
        "comment": record.comment,
        "voted_at": record.voted_at.astimezone(UTC),
    }


class QuestionLog:
    """The bot's question log: queue from the event loop, written by a background task.

    `start()` once the loop runs, `close()` at shutdown (it writes what is queued, within a timeout).
    Not created at all when QUESTION_LOG_DAYS is 0. `clock` (monotonic seconds) paces the warnings
    and the purge; `now` dates the purge.
    """

    def __init__(
        self,
        engine: Engine,
        key: bytes,
        *,
        retention_days: int,
        flush_seconds: float = 0.5,
        max_pending: int = 10_000,
        close_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = utc_now,
        migrated: bool = True,
    ) -> None:
        if retention_days < 1:
            raise ValueError("retention_days must be at least 1 (0 means: create no QuestionLog)")
        if max_pending < 1 or flush_seconds <= 0:
            raise ValueError("max_pending must be at least 1 and flush_seconds above 0")
        self.engine = engine
        self.retention = timedelta(days=retention_days)
        self.flush_seconds = flush_seconds
        self.max_pending = max_pending
        self.close_seconds = close_seconds
        self.dropped = 0  # records lost: database errors, a full queue, left at close
        self.written = 0
        self._key = key
        self._clock = clock
        self._now = now
        self._migrated = migrated
        self._pending: deque[Record] = deque()
        self._closing = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._warned_at: float | None = None
        self._failing = False
        self._next_purge = 0.0

    @property
    def pending(self) -> int:
        """Records queued and not yet written."""
        return len(self._pending)

    def record_question(self, record: QuestionRecord) -> None:
        """Queues a question for writing; returns at once, never raises."""
        self._queue(record)

    def record_vote(self, vote: VoteRecord) -> None:
        """Queues a vote for writing; returns at once, never raises."""
        self._queue(vote)

    def _queue(self, record: Record) -> None:
        if self._closing.is_set():
            self.dropped += 1
            return
        if len(self._pending) >= self.max_pending:
            self._pending.popleft()  # the oldest: the database is behind, the newest matter more
            self.dropped += 1
            self._warn("question log is behind: %d records queued", self.max_pending)
        self._pending.append(record)

    async def start(self) -> None:
        """Starts the writer (which purges first); call from the running event loop."""
        if self._task is None:
            self._next_purge = self._clock()
            self._task = asyncio.create_task(self._run(), name="question-log")

    async def close(self) -> None:
        """Writes what is queued (within `close_seconds`, the rest counted as dropped) and stops."""
        self._closing.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), self.close_seconds)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        if self._pending:
            self.dropped += len(self._pending)
            log.warning("question log closed with %d records unwritten", len(self._pending))
            self._pending.clear()

    async def flush(self) -> None:
        """Writes what is queued now, batch by batch; stops at the first failed batch (dropped)."""
        while self._pending:
            batch = [self._pending.popleft() for _ in range(min(BATCH, len(self._pending)))]
            try:
                await asyncio.to_thread(self._write, batch)
            except Exception as error:
                self.dropped += len(batch)
                self._failed(error)
                return
            self.written += len(batch)
            self._recovered()

    def _write(self, batch: list[Record]) -> None:
        if not self._migrated:  # the database was down at start
            migrate(self.engine)
            self._migrated = True
        write_batch(self.engine, self._key, batch)

    async def _run(self) -> None:
        while True:
            if self._clock() >= self._next_purge:
                await self._purge()
            await self.flush()
            if self._closing.is_set():
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self.flush_seconds)

    async def _purge(self) -> None:
        cutoff = self._now() - self.retention
        try:
            if not self._migrated:
                await asyncio.to_thread(migrate, self.engine)
                self._migrated = True
            asked, voted = await asyncio.to_thread(purge, self.engine, cutoff)
        except Exception as error:
            self._next_purge = self._clock() + RETRY_PURGE_SECONDS
            self._failed(error)
            return
        self._next_purge = self._clock() + PURGE_EVERY_SECONDS
        if asked or voted:
            log.info("question log: deleted %d questions and %d votes older than %s", asked, voted, cutoff)

    def _failed(self, error: Exception) -> None:
        self._failing = True
        expected = isinstance(error, SQLAlchemyError | DatabaseError | OSError)
        self._warn(
            "question log unavailable: %s (%d records dropped so far)",
            error if isinstance(error, DatabaseError) else reason(error),
            self.dropped,
            exc_info=not expected,  # anything else is a bug: its traceback, once a minute
        )

    def _recovered(self) -> None:
        if self._failing:
            self._failing = False
            log.info("question log available again (%d records dropped so far)", self.dropped)

    def _warn(self, message: str, *args: object, exc_info: bool = False) -> None:
        """At most one warning per WARN_EVERY_SECONDS, whatever it is about."""
        now = self._clock()
        if self._warned_at is None or now - self._warned_at >= WARN_EVERY_SECONDS:
            self._warned_at = now
            log.warning(message, *args, exc_info=exc_info)


async def open_question_log(settings: IndexSettings, *, key_file: Path = KEY_FILE) -> QuestionLog | None:
    """The started question log of `settings`, or None when QUESTION_LOG_DAYS is 0. Raises
    `NewerSchemaError` (and `KeyFileError`) for what the operator must fix; a database that can't be
    reached is migrated once it can, and answering goes on meanwhile."""
    if settings.question_log_days == 0:
        log.info("QUESTION_LOG_DAYS is 0: questions are not recorded")
        return None
    key = load_key(settings, key_file)
    engine = open_database(settings.database_url)
    migrated = True
    try:
        await asyncio.to_thread(migrate, engine)
    except NewerSchemaError:
        engine.dispose()
        raise
    except DatabaseError as error:
        log.warning("%s; answering without recording until it can be reached", error)
        migrated = False
    question_log = QuestionLog(engine, key, retention_days=settings.question_log_days, migrated=migrated)
    await question_log.start()
    return question_log
