"""A reindex replaces INDEX_DIR whole, so it may only ever replace or delete a folder the index made
itself: anything else is refused with one line naming the folder, and nothing is touched."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from index.build import rebuild
from index.settings import IndexSettings
from index.store import MARKER, IndexDirRefused, IndexStore
from tests.conftest import REPO
from tests.fakes import FakeEmbedder


def files_under(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_saved_index_carries_the_marker_and_can_be_replaced(settings: IndexSettings):
    rebuild(settings, FakeEmbedder(), None)
    assert (settings.index_dir / MARKER).is_file()

    rebuild(settings, FakeEmbedder(), None)  # replaced, and its .previous deleted

    assert (settings.index_dir / MARKER).is_file()
    assert not settings.index_dir.with_name(settings.index_dir.name + ".previous").exists()


def test_an_index_saved_before_the_marker_is_still_replaced(settings: IndexSettings):
    rebuild(settings, FakeEmbedder(), None)
    (settings.index_dir / MARKER).unlink()  # as session 3 saved it: its own files and a manifest

    rebuild(settings, FakeEmbedder(), None)

    assert (settings.index_dir / MARKER).is_file()


def test_index_dir_equal_to_articles_dir_is_refused_and_the_articles_stay(settings: IndexSettings):
    before = files_under(settings.articles_dir)
    same = IndexSettings(articles_dir=settings.articles_dir, index_dir=settings.articles_dir)

    with pytest.raises(IndexDirRefused, match="overlap"):
        rebuild(same, FakeEmbedder(), None)

    assert files_under(settings.articles_dir) == before


@pytest.mark.parametrize("where", ["around", "inside"])
def test_index_dir_around_or_inside_articles_dir_is_refused(settings: IndexSettings, where: str):
    before = files_under(settings.articles_dir.parent)
    index_dir = settings.articles_dir.parent if where == "around" else settings.articles_dir / "index"
    overlapping = IndexSettings(articles_dir=settings.articles_dir, index_dir=index_dir)

    with pytest.raises(IndexDirRefused, match=f"INDEX_DIR {index_dir} and ARTICLES_DIR"):
        rebuild(overlapping, FakeEmbedder(), None)

    assert files_under(settings.articles_dir.parent) == before


@pytest.mark.parametrize("which", ["index", "previous"])
def test_a_folder_of_someone_elses_files_is_refused_and_kept(
    settings: IndexSettings, tmp_path: Path, which: str
):
    documents = tmp_path / "documents"
    folder = documents if which == "index" else documents.with_name("documents.previous")
    folder.mkdir()
    (folder / "notes.txt").write_text("my notes")
    (folder / "manifest.json").write_text("{}")  # even beside a file the index would write

    with pytest.raises(IndexDirRefused, match=f"INDEX_DIR {folder} holds files the index did not write"):
        rebuild(IndexSettings(articles_dir=settings.articles_dir, index_dir=documents), FakeEmbedder(), None)

    assert (folder / "notes.txt").read_text() == "my notes"


def test_an_empty_folder_becomes_the_index(settings: IndexSettings, tmp_path: Path):
    empty = tmp_path / "empty"
    empty.mkdir()

    rebuild(IndexSettings(articles_dir=settings.articles_dir, index_dir=empty), FakeEmbedder(), None)

    assert (empty / MARKER).is_file()


def test_nothing_but_the_index_is_written_beside_index_dir(settings: IndexSettings, tmp_path: Path):
    documents = tmp_path / "documents"
    documents.mkdir()
    elsewhere = IndexSettings(
        articles_dir=settings.articles_dir, index_dir=documents / "index", model_cache_dir=tmp_path / "cache"
    )

    rebuild(elsewhere, FakeEmbedder(), None)
    rebuild(elsewhere, FakeEmbedder(), None)

    assert [path.name for path in documents.iterdir()] == ["index"]  # no lock file, no models folder
    assert [path.suffix for path in (tmp_path / "cache").iterdir()] == [".lock"]


def test_the_defaults_are_under_the_project_whatever_the_working_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    monkeypatch.chdir(tmp_path)

    defaults = IndexSettings.from_env({})

    assert defaults.articles_dir == REPO / "data" / "articles"
    assert defaults.index_dir == REPO / "var" / "index"
    assert defaults.model_cache_dir == REPO / "var" / "models"
    assert IndexSettings.from_env({"MODEL_CACHE_DIR": "/srv/cache"}).model_cache_dir == Path("/srv/cache")


def test_the_root_folder_is_refused():
    with pytest.raises(IndexDirRefused, match="root folder"):
        IndexStore(Path("/"))


def test_the_current_folder_is_refused_when_it_holds_other_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "README.md").write_text("a project")

    with pytest.raises(IndexDirRefused, match=f"INDEX_DIR {tmp_path} holds files"):
        IndexStore(Path(".")).check_replaceable()

    assert (tmp_path / "README.md").exists()


@pytest.mark.slow
def test_reindex_into_the_articles_folder_exits_2_with_one_line(settings: IndexSettings):
    env = {
        **os.environ,
        "ARTICLES_DIR": str(settings.articles_dir),
        "INDEX_DIR": str(settings.articles_dir),
        "PYTHON_DOTENV_DISABLED": "1",
    }
    before = files_under(settings.articles_dir)

    result = subprocess.run(
        [sys.executable, str(REPO / "run_bot.py"), "reindex"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: INDEX_DIR {settings.articles_dir} and ARTICLES_DIR {settings.articles_dir} overlap "
        "(a reindex replaces INDEX_DIR whole); keep them in separate folders"
    ]
    assert "Traceback" not in result.stderr
    assert files_under(settings.articles_dir) == before
