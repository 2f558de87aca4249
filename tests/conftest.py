"""Fixtures shared by the test packages: the shipped article, temporary settings, the fake embedder,
(for tests marked slow) one real embedder per session, and (tests/databases.py, for tests marked
postgres) a real PostgreSQL server per session."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from index.settings import IndexSettings
from tests.fakes import FakeEmbedder, fake_scorer

if TYPE_CHECKING:
    from index.embedding import Embedder
    from index.retriever import Retriever

pytest_plugins = ["tests.databases"]

REPO = Path(__file__).resolve().parent.parent
SHIPPED_ARTICLE = REPO / "data" / "articles" / "philadelphia-ice-arrest-data.txt"
DEV_QUESTIONS = REPO / "data" / "benchmark" / "news" / "philadelphia" / "dev.jsonl"
MODEL_CACHE = REPO / "var" / "models"


@pytest.fixture(autouse=True)
def scorer_for_the_fake_embedder(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests that never load the model answer with `fake_scorer` (index/scorer.json is fitted to the
    real model's cosines); tests marked slow use the shipped scorer."""
    if request.node.get_closest_marker("slow") is None:
        monkeypatch.setattr("index.retriever.load_scorer", fake_scorer)


@pytest.fixture
def articles_dir(tmp_path: Path) -> Path:
    """A temporary ARTICLES_DIR holding a copy of the shipped article."""
    directory = tmp_path / "articles"
    directory.mkdir()
    shutil.copy(SHIPPED_ARTICLE, directory / SHIPPED_ARTICLE.name)
    return directory


@pytest.fixture
def settings(tmp_path: Path, articles_dir: Path) -> IndexSettings:
    """Settings pointing at the temporary ARTICLES_DIR, and an INDEX_DIR and MODEL_CACHE_DIR under
    tmp_path."""
    return IndexSettings(
        articles_dir=articles_dir,
        index_dir=tmp_path / "var" / "index",
        model_cache_dir=tmp_path / "cache",
    )


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def retriever(settings: IndexSettings, fake_embedder: FakeEmbedder) -> Retriever:
    """A retriever over the shipped article, built with the fake embedder."""
    from index.startup import open_retriever

    ready, _ = open_retriever(settings, fake_embedder)
    return ready


@pytest.fixture(scope="session")
def real_embedder() -> Embedder:
    """The packaged all-MiniLM-L6-v2, loaded once per session; only for tests marked slow. Its ONNX
    export is cached where `make run` caches it (var/models), so only the first run pays for it."""
    from index.startup import load_embedder

    return load_embedder(IndexSettings(model_cache_dir=MODEL_CACHE))


@pytest.fixture(scope="session")
def real_index(tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder) -> IndexSettings:
    """Settings of an index of the shipped article built once with the real model (read it, don't write)."""
    from index.startup import open_retriever

    root = tmp_path_factory.mktemp("real-index")
    articles = root / "articles"
    articles.mkdir()
    shutil.copy(SHIPPED_ARTICLE, articles / SHIPPED_ARTICLE.name)
    settings = IndexSettings(articles_dir=articles, index_dir=root / "index", model_cache_dir=MODEL_CACHE)
    open_retriever(settings, real_embedder)
    return settings
