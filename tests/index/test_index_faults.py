"""Index faults while the bot runs: files damaged or deleted under it, a full disk or denied
permission during a reindex. The retriever keeps answering from the index it holds, a failed
reindex changes nothing on disk or in memory, and the next reindex repairs what was damaged.

(Corrupt indexes found at start are rebuilt: test_startup.py; crashes at each step of a save:
test_store.py; `kill -9` of a real `run_bot.py reindex`: test_reindex_kill.py.)
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from index import store as store_module
from index.retriever import Retriever
from index.settings import IndexSettings
from index.startup import open_retriever
from index.store import IndexStore, IndexUnavailable
from tests.fakes import FakeEmbedder

QUESTION = "When does the contract expire?"


def answered(retriever: Retriever) -> list[tuple[int, str]]:
    return [(hit.passage.paragraph, hit.passage.text) for hit in retriever.ask(QUESTION).hits]


def truncate_vectors(index_dir: Path) -> None:
    path = index_dir / "vectors.npy"
    path.write_bytes(path.read_bytes()[:100])


def zero_the_vectors_file(index_dir: Path) -> None:
    path = index_dir / "vectors.npy"
    path.write_bytes(bytes(path.stat().st_size))


def half_a_manifest(index_dir: Path) -> None:
    path = index_dir / "manifest.json"
    path.write_text(path.read_text()[: len(path.read_text()) // 2])


def delete_the_directory(index_dir: Path) -> None:
    shutil.rmtree(index_dir)


@pytest.mark.parametrize(
    "damage", [truncate_vectors, zero_the_vectors_file, half_a_manifest, delete_the_directory]
)
def test_an_index_damaged_on_disk_while_serving_keeps_answering_and_a_reindex_repairs_it(
    retriever: Retriever, settings: IndexSettings, damage: Callable[[Path], None]
):
    before = answered(retriever)
    served = retriever.data

    damage(settings.index_dir)

    with pytest.raises(IndexUnavailable):
        IndexStore(settings.index_dir).load()  # what a restart now would refuse to serve
    assert answered(retriever) == before  # the index in memory is untouched
    stats = retriever.reindex()

    assert stats.embedded == 0  # the vectors came from memory, not from the damaged files
    assert IndexStore(settings.index_dir).load().passages == served.passages
    restarted, rebuilt = open_retriever(settings, FakeEmbedder())
    assert rebuilt is None  # the repaired index is served as it is at the next start
    assert answered(restarted) == before


def no_space(*_: object, **__: object) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def denied(*_: object, **__: object) -> None:
    raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), "passages.jsonl")


def fail_first_call(real: Callable[..., object], fault: Callable[..., None]) -> Callable[..., object]:
    calls = 0

    def stand_in(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        return fault() if calls == 1 else real(*args, **kwargs)

    return stand_in


FAULTS = {
    "no space for the staging directory": (tempfile, "mkdtemp", no_space, errno.ENOSPC),
    "no space at fsync": (os, "fsync", no_space, errno.ENOSPC),
    "permission denied writing a file": (store_module, "_write_jsonl", denied, errno.EACCES),
}


@pytest.mark.parametrize(("module", "name", "fault", "code"), FAULTS.values(), ids=FAULTS.keys())
def test_a_reindex_that_cannot_write_changes_nothing_and_the_next_one_succeeds(
    retriever: Retriever,
    settings: IndexSettings,
    monkeypatch: pytest.MonkeyPatch,
    module: object,
    name: str,
    fault: Callable[..., None],
    code: int,
):
    before = answered(retriever)
    served = retriever.data
    on_disk = {path.name: path.read_bytes() for path in settings.index_dir.iterdir()}
    monkeypatch.setattr(module, name, fail_first_call(getattr(module, name), fault))

    with pytest.raises(OSError, match=os.strerror(code)) as raised:
        retriever.reindex()

    assert raised.value.errno == code
    assert retriever.data is served
    assert not retriever.reindexing
    assert answered(retriever) == before
    assert {path.name: path.read_bytes() for path in settings.index_dir.iterdir()} == on_disk
    assert sorted(path.name for path in settings.index_dir.parent.iterdir() if path.is_dir()) == ["index"]

    retriever.reindex()  # the fault has passed (space freed, permission fixed)
    assert IndexStore(settings.index_dir).load().passages == served.passages


def test_a_lock_that_cannot_be_taken_fails_the_reindex_and_changes_nothing(
    retriever: Retriever, settings: IndexSettings
):
    before = answered(retriever)
    lock = IndexStore(settings.index_dir, lock_dir=settings.model_cache_dir)._lock_path
    lock.unlink()
    lock.mkdir()  # e.g. a path someone else created: open() fails like a permission problem

    with pytest.raises(IsADirectoryError):
        retriever.reindex()

    assert answered(retriever) == before
    assert IndexStore(settings.index_dir).load().passages == retriever.data.passages
