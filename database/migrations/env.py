"""Alembic's entry point for the database. `database.engine.migrate` passes its connection in
`config.attributes["connection"]`; run by the `alembic` command instead, it connects to
DATABASE_URL itself. The one module that sees every feature's tables (for autogenerate); nothing
imports it."""

from __future__ import annotations

from alembic import context

from index.library_tables import metadata as library_metadata
from insights.schema import metadata as question_log_metadata

# every feature's tables, as the migrations make them
TABLES = [question_log_metadata, library_metadata]


def run(connection: object) -> None:
    context.configure(
        connection=connection,
        target_metadata=TABLES,
        # SQLite alters a table by copying it; Alembic's batch mode does that for it
        render_as_batch=connection.dialect.name == "sqlite",  # type: ignore[attr-defined]
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


given = context.config.attributes.get("connection")
if given is not None:
    run(given)
else:
    from database.engine import open_database
    from index.settings import IndexSettings

    engine = open_database(IndexSettings().database_url)
    with engine.begin() as connection:
        run(connection)
    engine.dispose()
