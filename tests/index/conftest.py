"""The article library in a real PostgreSQL database (tests/databases.py), for the tests marked
postgres."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from database.engine import migrate, open_database
from index.database_library import DatabaseLibrary


@pytest.fixture
def library_engine(postgres_url: str) -> Iterator[Engine]:
    """A fresh PostgreSQL database, migrated: the library in it is empty and never seeded."""
    engine = open_database(postgres_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def database_library(library_engine: Engine, articles_dir: Path) -> DatabaseLibrary:
    """The database's library, seeded from the temporary ARTICLES_DIR (the shipped article)."""
    library = DatabaseLibrary(library_engine)
    library.seed(articles_dir)
    return library
