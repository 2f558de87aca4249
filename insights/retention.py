"""Deleting from the question log: what is older than QUESTION_LOG_DAYS (the daily purge), and one
person's rows when they ask (`forget_user`, found by the hash of their id)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, delete

from insights.identity import user_hash
from insights.schema import questions, votes


def purge(engine: Engine, older_than: datetime) -> tuple[int, int]:
    """Deletes the questions asked and the votes cast before `older_than` (aware); returns how many
    of each."""
    if older_than.tzinfo is None:
        raise ValueError("older_than must be an aware datetime")
    older_than = older_than.astimezone(UTC)  # as the rows are written (SQLite keeps no time zone)
    with engine.begin() as connection:
        asked = connection.execute(delete(questions).where(questions.c.asked_at < older_than)).rowcount
        voted = connection.execute(delete(votes).where(votes.c.voted_at < older_than)).rowcount
    return asked, voted


def forget_user(engine: Engine, key: bytes, user_id: int) -> int:
    """Deletes every question and vote of the Discord user `user_id`; returns how many rows. Rows
    recorded under another key (a lost or changed one) can't be found."""
    hashed = user_hash(user_id, key)
    with engine.begin() as connection:
        asked = connection.execute(delete(questions).where(questions.c.user_hash == hashed)).rowcount
        voted = connection.execute(delete(votes).where(votes.c.user_hash == hashed)).rowcount
    return asked + voted
