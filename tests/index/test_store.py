"""IndexStore: plain files without pickle, written atomically, recovered after a crash."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import io
import json
import os
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import xxhash

from index import store
from index.articles import load_articles
from index.build import build_index
from index.settings import IndexSettings
from index.store import IndexData, IndexStore, IndexUnavailable, checksum
from index.units import UNIT_KINDS, Unit, Units
from index.vector_index import describe
from tests.fakes import FakeEmbedder


def build(settings: IndexSettings) -> IndexData:
    data, _ = build_index(load_articles(settings.articles_dir), FakeEmbedder())
    return data


def edit_article(settings: IndexSettings) -> None:
    for path in settings.articles_dir.iterdir():
        path.write_text(path.read_text().replace("Jim Kenney", "Jim Kenny"))


def snapshot(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


def staging_dirs(store: IndexStore) -> list[Path]:
    return sorted(store.directory.parent.glob(f".{store.directory.name}.tmp-*"))


def assert_same_index(loaded: IndexData, saved: IndexData) -> None:
    assert loaded.passages == saved.passages
    assert loaded.units == saved.units
    np.testing.assert_array_equal(loaded.vectors, saved.vectors)
    assert dataclasses.replace(loaded.manifest, checksums={}) == saved.manifest


def test_save_then_load_gives_the_same_index(settings: IndexSettings):
    data = build(settings)
    store = IndexStore(settings.index_dir)

    store.save(data)
    loaded = store.load()

    assert_same_index(loaded, data)
    assert loaded.vectors.dtype == np.float32
    assert loaded.search_index.ntotal == len(data.vectors)
    assert set(loaded.manifest.checksums) >= {"passages.jsonl", "units.jsonl", "vectors.npy"}


def test_the_files_are_plain_json_and_numpy_without_pickle(settings: IndexSettings):
    data = build(settings)
    IndexStore(settings.index_dir).save(data)
    directory = settings.index_dir

    vectors = np.load(directory / "vectors.npy", allow_pickle=False)
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    passages = [json.loads(line) for line in (directory / "passages.jsonl").read_text().splitlines()]
    units = [json.loads(line) for line in (directory / "units.jsonl").read_text().splitlines()]

    np.testing.assert_array_equal(vectors, data.vectors)
    assert manifest["model"] == "fake-hashing@512"
    assert [row["text"] for row in passages] == [passage.text for passage in data.passages]
    assert len(units) == len(vectors)
    assert [row["key"] for row in units] == [unit.key for unit in data.units]
    records = np.load(directory / "units.npy", allow_pickle=False)
    assert records["passage"].tolist() == [unit.passage for unit in data.units]
    assert [UNIT_KINDS[kind] for kind in records["kind"]] == [unit.kind for unit in data.units]
    passage_lines = np.load(directory / "passages.npy", allow_pickle=False)
    text = (directory / "passages.jsonl").read_bytes()
    assert [json.loads(text[start:].split(b"\n", 1)[0]) for start in passage_lines] == passages
    # an exact index is searched over vectors.npy itself: no index.faiss (test_vector_index has IVF's)
    assert describe(IndexStore(directory).load().search_index) == "flat (exact)"
    assert not (directory / "index.faiss").exists()


def test_loading_parses_no_json_line_and_a_row_is_parsed_when_read(
    settings: IndexSettings, monkeypatch: pytest.MonkeyPatch
):
    data = build(settings)
    IndexStore(settings.index_dir).save(data)
    parsed: list[str | bytes] = []
    real_loads = json.loads
    monkeypatch.setattr(json, "loads", lambda text: parsed.append(text) or real_loads(text))

    loaded = IndexStore(settings.index_dir).load()
    assert len(parsed) == 1  # the manifest

    assert loaded.passages[3] == data.passages[3]
    assert loaded.passages[-1] == data.passages[-1]
    assert loaded.units[5] == data.units[5]
    assert len(parsed) == 4
    with pytest.raises(IndexError):
        loaded.passages[len(data.passages)]

    assert loaded.passages[3] == data.passages[3]  # read again: kept, not parsed again
    assert len(parsed) == 4


def test_rows_kept_after_reading_are_bounded(settings: IndexSettings, monkeypatch: pytest.MonkeyPatch):
    data = build(settings)
    IndexStore(settings.index_dir).save(data)
    loaded = IndexStore(settings.index_dir).load()
    monkeypatch.setattr(store, "PARSED_ROWS_KEPT", 2)

    rows = [loaded.passages[number] for number in range(len(data.passages))]

    assert rows == list(data.passages)
    assert len(loaded.passages._parsed) <= 2


def test_any_text_round_trips(settings: IndexSettings):
    """Line breaks of every kind, quotes, backslashes and emoji inside a passage stay one line of it."""
    data = build(settings)
    odd = 'a\nb\r\nc\u2028d\u2029e\x85f "quoted" back\\slash 🦆 \x00'
    passages = (dataclasses.replace(data.passages[0], text=odd), *data.passages[1:])
    units = Units.of([dataclasses.replace(data.units[0], text=odd), *list(data.units)[1:]])
    store = IndexStore(settings.index_dir)
    store.save(dataclasses.replace(data, passages=passages, units=units))

    loaded = store.load()

    assert loaded.passages[0].text == odd
    assert loaded.units[0].text == odd
    assert loaded.passages == passages
    assert loaded.units == units


def test_saving_again_replaces_the_index_and_leaves_nothing_beside_it(settings: IndexSettings):
    store = IndexStore(settings.index_dir)
    store.save(build(settings))
    edit_article(settings)
    second = build(settings)

    store.save(second)

    assert_same_index(store.load(), second)
    assert sorted(path.name for path in settings.index_dir.parent.iterdir()) == ["index"]


def fail_on_call(number: int, real, error: BaseException):
    """A stand-in for `real` that raises `error` on its `number`-th call (from 1)."""
    calls = 0

    def stand_in(*args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == number:
            raise error
        return real(*args, **kwargs)

    return stand_in


CRASHES = {
    "while writing passages.npy": (np, "save", 1),
    "while writing vectors.npy": (np, "save", 3),
    "while writing lexical-postings.npy": (np, "save", 5),
    "while moving the old index aside": (os, "rename", 1),
}


@pytest.mark.parametrize(("module", "name", "call"), CRASHES.values(), ids=CRASHES.keys())
def test_a_crash_mid_write_leaves_the_previous_index_as_it_was(
    settings: IndexSettings, monkeypatch: pytest.MonkeyPatch, module, name: str, call: int
):
    store = IndexStore(settings.index_dir)
    first = build(settings)
    store.save(first)
    before = snapshot(settings.index_dir)
    edit_article(settings)
    second = build(settings)
    monkeypatch.setattr(module, name, fail_on_call(call, getattr(module, name), OSError("disk on fire")))

    with pytest.raises(OSError, match="disk on fire"):
        store.save(second)
    monkeypatch.undo()

    assert snapshot(settings.index_dir) == before
    assert_same_index(store.load(), first)
    assert staging_dirs(store) == []


def test_a_crash_between_the_two_renames_is_recovered_on_load(
    settings: IndexSettings, monkeypatch: pytest.MonkeyPatch
):
    store = IndexStore(settings.index_dir)
    first = build(settings)
    store.save(first)
    edit_article(settings)
    # the second rename (staging → INDEX_DIR) fails: only INDEX_DIR.previous is left
    monkeypatch.setattr(os, "rename", fail_on_call(2, os.rename, OSError("power cut")))
    with pytest.raises(OSError, match="power cut"):
        store.save(build(settings))
    monkeypatch.undo()
    assert not settings.index_dir.exists()
    assert settings.index_dir.with_name("index.previous").is_dir()

    assert_same_index(store.load(), first)
    assert settings.index_dir.is_dir()
    assert not settings.index_dir.with_name("index.previous").exists()


def test_the_recovery_waits_for_a_save_that_holds_the_writers_lock(settings: IndexSettings):
    """A save between its two renames (INDEX_DIR moved aside, the new one not yet in place) is not
    a crash: a load must not rename .previous back under it."""
    store = IndexStore(settings.index_dir, lock_dir=settings.model_cache_dir)
    first = build(settings)
    store.save(first)
    os.rename(settings.index_dir, settings.index_dir.with_name("index.previous"))  # mid-save
    holding, release = threading.Event(), threading.Event()

    def saving() -> None:
        with store.lock():
            holding.set()
            release.wait(timeout=10)
            os.rename(settings.index_dir.with_name("index.previous"), settings.index_dir)  # the save goes on

    writer = threading.Thread(target=saving)
    writer.start()
    assert holding.wait(timeout=10)
    loading = concurrent.futures.ThreadPoolExecutor(1).submit(store.load)
    time.sleep(0.2)
    assert not loading.done()  # waiting for the lock, not renaming under the writer
    release.set()
    writer.join(timeout=10)

    assert_same_index(loading.result(timeout=10), first)


def test_a_killed_build_leaves_a_staging_dir_that_is_never_served_and_is_cleaned_up(settings: IndexSettings):
    store = IndexStore(settings.index_dir)
    first = build(settings)
    store.save(first)
    # what `kill -9` mid-save leaves: a half-written staging directory beside INDEX_DIR
    leftover = settings.index_dir.with_name(".index.tmp-killed")
    leftover.mkdir()
    (leftover / "passages.jsonl").write_text('{"text": "half a line')

    assert_same_index(store.load(), first)

    edit_article(settings)
    store.save(build(settings))
    assert staging_dirs(store) == []


def test_an_index_needs_passages_and_one_vector_per_unit(settings: IndexSettings):
    data = build(settings)

    with pytest.raises(ValueError, match="at least one passage"):
        dataclasses.replace(data, passages=(), units=(), vectors=data.vectors[:0])
    with pytest.raises(ValueError, match="units but"):
        dataclasses.replace(data, vectors=data.vectors[:-1])
    astray = Units.of([*list(data.units)[:-1], Unit(len(data.passages), "x", "key")])
    with pytest.raises(ValueError, match="does not exist"):
        dataclasses.replace(data, units=astray)
    orphaned = Units.of(unit for unit in data.units if unit.passage != 1)
    with pytest.raises(ValueError, match="a passage without a unit"):
        dataclasses.replace(data, units=orphaned, vectors=data.vectors[: len(orphaned)])


def truncated(data: bytes) -> bytes:
    return data[:150]


def garbage(data: bytes) -> bytes:
    return b"garbage" * 50


def shifted(data: bytes) -> bytes:
    """The line starts of a .npy file, one byte off."""
    out = io.BytesIO()
    np.save(out, np.load(io.BytesIO(data)) + 1)
    return out.getvalue()


def plain_integers(data: bytes) -> bytes:
    """Records saved as a plain array of integers instead."""
    out = io.BytesIO()
    np.save(out, np.arange(len(np.load(io.BytesIO(data)))))
    return out.getvalue()


def a_shorter_first_line(data: bytes) -> bytes:
    first, rest = data.split(b"\n", 1)
    return json.dumps({**json.loads(first), "text": "short"}).encode() + b"\n" + rest


BROKEN = {
    "truncated-vectors": ("vectors.npy", truncated),
    "garbage-vectors": ("vectors.npy", garbage),
    "truncated-lexical-terms": ("lexical-terms.npy", truncated),
    "lexical-terms-not-records": ("lexical-terms.npy", plain_integers),
    "truncated-passages": ("passages.jsonl", truncated),
    "passage-lines-off-by-one": ("passages.npy", shifted),
    "unit-lines-not-where-units-jsonl-has-them": ("units.jsonl", a_shorter_first_line),
    "unit-records-not-records": ("units.npy", plain_integers),
}


@pytest.mark.parametrize(("name", "damage"), BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_file_with_a_matching_checksum_is_still_unavailable(
    settings: IndexSettings, name: str, damage
):
    """Corruption that also rewrote the manifest (or a bug in the writer) is caught by the readers."""
    store = IndexStore(settings.index_dir)
    store.save(build(settings))
    path = settings.index_dir / name
    path.write_bytes(damage(path.read_bytes()))
    manifest_path = settings.index_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["checksums"][name] = checksum(path.read_bytes())
    manifest_path.write_text(json.dumps(manifest))

    with pytest.raises(IndexUnavailable, match="unreadable"):
        store.load()


def rewrite_checksums(directory: Path, make: Callable[[bytes], str]) -> None:
    manifest_path = directory / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["checksums"] = {name: make((directory / name).read_bytes()) for name in manifest["checksums"]}
    manifest_path.write_text(json.dumps(manifest))


def test_every_file_gets_an_xxh3_checksum_of_its_bytes(settings: IndexSettings):
    IndexStore(settings.index_dir).save(build(settings))

    checksums = json.loads((settings.index_dir / "manifest.json").read_text())["checksums"]

    for name, recorded in checksums.items():
        digest = xxhash.xxh3_64((settings.index_dir / name).read_bytes()).hexdigest()
        assert recorded == f"xxh3_64:{digest}" == checksum((settings.index_dir / name).read_bytes())


def crc32(data: bytes) -> str:
    return f"crc32:{zlib.crc32(data):08x}"


def test_an_index_saved_with_crc32_checksums_is_still_served_and_still_checked(settings: IndexSettings):
    """Indexes written before the checksum changed need no rebuild, and keep their protection."""
    data = build(settings)
    store = IndexStore(settings.index_dir)
    store.save(data)
    rewrite_checksums(settings.index_dir, crc32)

    assert_same_index(store.load(), data)

    vectors = settings.index_dir / "vectors.npy"
    damaged = bytearray(vectors.read_bytes())
    damaged[-1] ^= 1
    vectors.write_bytes(bytes(damaged))
    with pytest.raises(IndexUnavailable, match=r"vectors\.npy does not match the manifest's checksum"):
        store.load()


@pytest.mark.parametrize("recorded", ["sha512:00", "", "0123abcd"])
def test_a_checksum_of_an_unknown_kind_makes_the_index_unavailable(settings: IndexSettings, recorded: str):
    store = IndexStore(settings.index_dir)
    store.save(build(settings))
    rewrite_checksums(settings.index_dir, lambda _: recorded)

    with pytest.raises(IndexUnavailable, match="unknown checksum"):
        store.load()


def test_a_manifest_missing_a_field_says_which(settings: IndexSettings):
    store = IndexStore(settings.index_dir)
    store.save(build(settings))
    manifest_path = settings.index_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    del manifest["schema"]
    manifest_path.write_text(json.dumps(manifest))

    with pytest.raises(IndexUnavailable, match=r"unreadable \(its manifest has no 'schema'\)"):
        store.load()
