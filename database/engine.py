"""The database DATABASE_URL names: `open_database` makes its engine (a SQLite file, or PostgreSQL for
several processes or machines), `migrate` brings its tables to this code's schema with Alembic
(database/migrations) and refuses one made by a newer version of the bot."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_MS = 5_000  # a writer waits this long for another process's transaction
CONNECT_SECONDS = 5  # PostgreSQL: a server that doesn't answer is "down" after this
# Serialises two processes migrating one PostgreSQL database at once (any constant; this one is
# b"qlog" as a number).
MIGRATION_LOCK = 0x716C6F67


class DatabaseError(Exception):
    """The database can't be used; the message is one line saying why."""


class NewerSchemaError(DatabaseError):
    """The database was migrated by a newer version of the bot than this one."""


def shown(url: str | URL) -> str:
    """`url` as it may appear in a log line or an error: without its password."""
    return make_url(url).render_as_string(hide_password=True)


def open_database(url: str) -> Engine:
    """An engine for `url`. SQLite: WAL (readers never wait for the writer), a busy timeout, foreign
    keys, its folder created. PostgreSQL: connections checked before use, a short connect timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        with contextlib.suppress(OSError):  # `migrate` tries again and says why it can't
            _make_folder(parsed)
        engine = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_MS / 1000})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(parsed, pool_pre_ping=True, connect_args={"connect_timeout": CONNECT_SECONDS})


def _make_folder(url: URL) -> None:
    if url.database:
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(connection: object, _record: object) -> None:
    cursor = connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable across a crash of the bot; WAL makes it safe
    cursor.close()


def alembic_config() -> Config:
    """Alembic's configuration for the migrations shipped in database/migrations (no alembic.ini)."""
    from alembic.config import Config  # imported when migrating: it logs and costs at import

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def migrate(engine: Engine, *, what: str = "the question log") -> None:
    """Brings the database to this code's schema (creating the tables the first time); raises
    `NewerSchemaError` for a database a newer bot made, `DatabaseError` when it can't be reached.
    `what` names the database in those errors as the caller's user knows it."""
    from alembic import command
    from alembic.util.exc import CommandError

    config = alembic_config()
    where = shown(engine.url)
    try:
        if engine.dialect.name == "sqlite":
            _make_folder(engine.url)
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            _refuse_newer(connection, config, engine)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except OSError as error:
        raise DatabaseError(f"could not open {what} at {where}: {error.strerror}: {error.filename}") from None
    except SQLAlchemyError as error:
        raise DatabaseError(f"could not open {what} at {where}: {reason(error)}") from None
    except CommandError as error:  # a revision this code doesn't know appeared meanwhile
        raise NewerSchemaError(f"{what} at {where}: {error}") from None


def _refuse_newer(connection: object, config: Config, engine: Engine) -> None:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from alembic.util.exc import CommandError

    scripts = ScriptDirectory.from_config(config)
    for revision in MigrationContext.configure(connection).get_current_heads():  # type: ignore[arg-type]
        try:
            known = scripts.get_revision(revision)
        except CommandError:
            known = None
        if known is None:
            raise NewerSchemaError(
                f"the database at {shown(engine.url)} was made by a newer version of the bot "
                f"(schema {revision}); upgrade the bot or point DATABASE_URL elsewhere"
            )


def reason(error: BaseException) -> str:
    """The first line of a database error's own message (the driver's, without SQLAlchemy's
    statement and link), which names the cause: refused connection, missing file, full disk…"""
    cause = getattr(error, "orig", None) or error
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    return lines[0] if lines else type(cause).__name__
