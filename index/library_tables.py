"""The article library's tables (SQLAlchemy Core), for the library kept in the database
(`index.libraries.DatabaseLibrary`, with a PostgreSQL DATABASE_URL). Alembic's migrations
(database/migrations) create them on every database, SQLite's too, where they stay unused.

`articles` holds each article as the text of the file the index reads (front matter included), so
the folder library and the database library render and read articles alike. `library` is one row:
the revision every write bumps in its own transaction (how each process learns the library
changed) and when ARTICLES_DIR seeded the library (never again after that, even once it is emptied).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Column, DateTime, Integer, MetaData, Table, Text

metadata = MetaData()

articles = Table(
    "articles",
    metadata,
    Column("id", Text, primary_key=True),  # the file name without its suffix, as the folder library's
    Column("title", Text, nullable=False),
    Column("source", Text, nullable=True),  # the page it was taken from
    Column("date", Text, nullable=True),  # when it was published, as its front matter says
    Column("added", Text, nullable=False),  # ISO time, as the listing shows it
    Column("text", Text, nullable=False),  # the whole article file, front matter included
    Column("content_hash", Text, nullable=False),  # sha256 of the text's UTF-8: the index's digest
    Column("revision", BigInteger, nullable=False),  # the library's revision that wrote this row
)

library = Table(
    "library",
    metadata,
    Column("id", Integer, primary_key=True),  # always 1: one row
    Column("revision", BigInteger, nullable=False),
    Column("seeded_at", DateTime(timezone=True), nullable=True),  # None: ARTICLES_DIR not imported yet
    CheckConstraint("id = 1", name="library_one_row"),
)
