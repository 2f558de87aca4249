"""The command line's environment, an article page to add, and the article library in a real
PostgreSQL database (tests/databases.py, for the tests marked postgres)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from database.engine import migrate, open_database
from index.database_library import DatabaseLibrary
from index.settings import IndexSettings
from tests.fakes import FakeEmbedder
from tests.index import web_pages


@pytest.fixture
def cli_environment(monkeypatch: pytest.MonkeyPatch, settings: IndexSettings) -> None:
    """ARTICLES_DIR, INDEX_DIR and MODEL_CACHE_DIR in tmp_path, the default DATABASE_URL, no .env,
    the fake model."""
    monkeypatch.setenv("ARTICLES_DIR", str(settings.articles_dir))
    monkeypatch.setenv("INDEX_DIR", str(settings.index_dir))
    monkeypatch.setenv("MODEL_CACHE_DIR", str(settings.model_cache_dir))
    monkeypatch.setenv("PYTHON_DOTENV_DISABLED", "1")
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.delenv("LOG_LEVEL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)  # the folder library, unless a test says
    monkeypatch.setattr("index.startup.load_embedder", lambda _settings: FakeEmbedder())


@pytest.fixture
def page(tmp_path: Path) -> Path:
    """The news page, saved as a file to add."""
    path = tmp_path / "downloads" / "parks.html"
    path.parent.mkdir()
    path.write_text(web_pages.NEWS_PAGE)
    return path


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
