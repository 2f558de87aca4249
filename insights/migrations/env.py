"""Alembic's entry point for the question log. `insights.database.migrate` passes its connection in
`config.attributes["connection"]`; run by the `alembic` command instead, it connects to
DATABASE_URL itself."""

from __future__ import annotations

from alembic import context

from insights.schema import metadata


def run(connection: object) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
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
    from index.settings import IndexSettings
    from insights.database import open_database

    engine = open_database(IndexSettings().database_url)
    with engine.begin() as connection:
        run(connection)
    engine.dispose()
