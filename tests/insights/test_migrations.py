"""The database's schema: Alembic's migrations create exactly insights/schema.py's and
index/library_tables.py's tables on both databases, run again harmlessly, and a database from a
newer bot is refused with one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from database.engine import DatabaseError, NewerSchemaError, migrate, open_database
from index.library_tables import metadata as library_metadata
from insights.schema import metadata as question_log_metadata


def test_the_migrations_create_exactly_the_schema(engine: Engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        drift = compare_metadata(context, [question_log_metadata, library_metadata])
        head = context.get_current_revision()

    assert drift == []
    tables = {"questions", "votes", "articles", "library", "alembic_version"}
    assert set(inspect(engine).get_table_names()) == tables
    assert head == "0003"


def test_the_library_starts_at_revision_0_never_seeded_and_empty(engine: Engine):
    with engine.connect() as connection:
        state = connection.execute(text("SELECT id, revision, seeded_at FROM library")).all()
        count = connection.execute(text("SELECT count(*) FROM articles")).scalar()

    assert [tuple(row) for row in state] == [(1, 0, None)]
    assert count == 0


def test_migrating_again_changes_nothing(engine: Engine):
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO votes VALUES ('a', 'b', true, NULL, CURRENT_TIMESTAMP)"))

    migrate(engine)

    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM votes")).scalar() == 1


def test_a_database_from_a_newer_bot_is_refused_in_one_line(engine: Engine):
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0999'"))

    with pytest.raises(NewerSchemaError) as caught:
        migrate(engine)

    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("the database at ")
    assert "was made by a newer version of the bot (schema 0999); upgrade the bot" in message
    assert message.endswith("or point DATABASE_URL elsewhere")


def test_an_unreachable_database_is_one_line_without_its_password(tmp_path: Path, unused_tcp_port: int):
    (tmp_path / "a-file").write_text("not a folder")
    (tmp_path / "not-a-database.sqlite3").write_bytes(b"garbage" * 1000)
    for url in (
        f"postgresql+psycopg://postgres:hunter2hunter2@127.0.0.1:{unused_tcp_port}/log",
        f"sqlite:///{tmp_path}/a-file/log.sqlite3",
        f"sqlite:///{tmp_path}/not-a-database.sqlite3",
    ):
        with pytest.raises(DatabaseError) as caught:
            migrate(open_database(url))

        message = str(caught.value)
        assert message.startswith("could not open the question log at "), message
        assert "\n" not in message
        assert "hunter2" not in message
