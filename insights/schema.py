"""The tables of the question log (SQLAlchemy Core). Alembic's migrations (database/migrations)
create and change them; this module is what the code reads and writes through.

User ids are never stored: `user_hash` is an HMAC of the id with the log's secret, so one person's
votes can be told apart (one vote per answer) without knowing who they are.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

metadata = MetaData()

ANSWER_ID_CHARS = 16  # hex: what a feedback button's custom id carries
USER_HASH_CHARS = 64  # hex HMAC-SHA256

questions = Table(
    "questions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("answer_id", String(ANSWER_ID_CHARS), nullable=False, unique=True),
    Column("asked_at", DateTime(timezone=True), nullable=False),
    Column("guild_id", BigInteger, nullable=True),  # None in DMs
    Column("channel_id", BigInteger, nullable=True),
    Column("user_hash", String(USER_HASH_CHARS), nullable=False),
    Column("via", String(16), nullable=False),  # mention | slash | dm | menu
    Column("question", Text, nullable=False),
    Column("confidence", String(4), nullable=False),  # high | low | none
    # the passages shown, best first: [{"article": <source file>, "paragraph": <n>}]
    Column("passages", JSON, nullable=False),
    Column("latency_ms", Float, nullable=False),
    Index("ix_questions_asked_at", "asked_at"),
    Index("ix_questions_confidence_asked_at", "confidence", "asked_at"),
    Index("ix_questions_channel_asked_at", "guild_id", "channel_id", "asked_at"),  # migration 0002
)

votes = Table(
    "votes",
    metadata,
    Column("answer_id", String(ANSWER_ID_CHARS), nullable=False),
    Column("user_hash", String(USER_HASH_CHARS), nullable=False),
    Column("helpful", Boolean, nullable=False),
    Column("comment", String(200), nullable=True),  # "what were you looking for?"
    Column("voted_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("answer_id", "user_hash"),  # one vote per person per answer; a new one replaces it
    Index("ix_votes_voted_at", "voted_at"),
)
