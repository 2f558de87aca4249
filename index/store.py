"""The index on disk: a directory of plain files, written atomically, checked before it is served.

    INDEX_DIR/
      manifest.json    schema, model, articles (with hashes), build time, a checksum of every file
      passages.jsonl   one passage per line, with its article and paragraph
      units.jsonl      one line per vector: the passage it belongs to, the text embedded, its hash
      vectors.npy      the unit vectors (float32, L2-normalised): also the embedding cache, and all an
                       exact search needs (see index.vector_index)
      index.faiss      only for a large corpus: the approximate FAISS index (IVF) over those vectors
      lexical.npz      BM25 postings over the passages, so serving needn't re-tokenize every passage
                       (optional: an index without it builds BM25 when loaded)

A build is written to a temporary directory beside INDEX_DIR and renamed into place, so a crash
mid-build leaves the previous index as it was. No pickle anywhere. Every file is checked against its
checksum before it is parsed: CRC-32, which detects corruption (not tampering) at several times the
speed of sha256 here (docs/benchmarks.md, "Restarts").
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import logging
import math
import os
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from index.lexical import Bm25
from index.passages import Passage
from index.vector_index import ExactIndex, build_vector_index, configure

log = logging.getLogger(__name__)

SCHEMA_VERSION = 5
_FILES = ("passages.jsonl", "units.jsonl", "vectors.npy")
_FAISS = "index.faiss"
_LEXICAL = "lexical.npz"


UnitKind = Literal["passage", "sentence", "clause"]


class IndexUnavailable(Exception):
    """The index on disk can't be served as it is (missing, unreadable, stale); says why."""


@dataclass(frozen=True)
class Unit:
    """One vector of the index: a whole passage, one sentence of it, or one clause of a sentence."""

    passage: int
    text: str
    key: str  # sha256 of the model identity and the exact text embedded: the embedding cache key
    kind: UnitKind = "passage"


@dataclass(frozen=True)
class Manifest:
    """What an index was built from and with."""

    schema: int
    model: str
    dimension: int
    articles: tuple[dict[str, str], ...]  # {"source", "title", "digest"}
    built_at: str
    aliases: dict[str, dict[str, str]] = field(default_factory=dict)  # see index.aliases.Aliases
    checksums: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        return cls(
            schema=int(data["schema"]),
            model=str(data["model"]),
            dimension=int(data["dimension"]),
            articles=tuple(dict(article) for article in data["articles"]),
            built_at=str(data["built_at"]),
            aliases={kind: dict(table) for kind, table in data.get("aliases", {}).items()},
            checksums=dict(data.get("checksums", {})),
        )


@dataclass(frozen=True)
class IndexData:
    """A complete index in memory: what `IndexStore` saves and loads."""

    manifest: Manifest
    passages: tuple[Passage, ...]
    units: tuple[Unit, ...]
    vectors: np.ndarray
    # The index over `vectors` (index.vector_index) as built or read; None means "build one from `vectors`".
    search_index: Any = field(default=None, compare=False, repr=False)
    # BM25 over the passages (index.lexical.Bm25) as built or read; None means "build it when serving".
    lexical: Bm25 | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.units) != len(self.vectors):
            raise ValueError(f"{len(self.units)} units but {len(self.vectors)} vectors")
        if not self.passages:
            raise ValueError("an index needs at least one passage")
        if any(not 0 <= unit.passage < len(self.passages) for unit in self.units):
            raise ValueError("a unit points at a passage that does not exist")


# Files are read in pieces of this size, each checksummed right after it is read, while it is still in
# the CPU cache (about a third faster than checksumming the whole file after reading it).
_CHUNK = 1 << 18
_NPY_HEADERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


def checksum(data: bytes) -> str:
    """The checksum the manifest records for a file holding `data`."""
    return f"crc32:{zlib.crc32(data):08x}"


def _file_checksum(path: Path) -> str:
    crc = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            crc = zlib.crc32(chunk, crc)
    return f"crc32:{crc:08x}"


def _read_checked(path: Path, expected: str | None) -> np.ndarray:
    """The bytes of a file (as a new uint8 array), if they match the checksum `expected`."""
    size = path.stat().st_size
    data = np.empty(size, dtype=np.uint8)  # numpy asks for huge pages: half the page faults of bytes
    view = memoryview(data)
    crc = 0
    with path.open("rb", buffering=0) as handle:
        for start in range(0, size, _CHUNK):
            chunk = view[start : start + _CHUNK]
            if handle.readinto(chunk) != len(chunk):
                raise IndexUnavailable(f"{path.name} changed while it was read")
            crc = zlib.crc32(chunk, crc)
    if f"crc32:{crc:08x}" != expected:
        raise IndexUnavailable(f"{path.name} does not match the manifest's checksum (corrupt)")
    return data


def _npy_array(data: np.ndarray) -> np.ndarray:
    """The array held by the bytes of a .npy file, as a view of them (np.load would copy)."""
    header = io.BytesIO(data[:4096].tobytes())
    version = np.lib.format.read_magic(header)
    if version not in _NPY_HEADERS:
        raise ValueError(f".npy format version {version} is not one this store writes")
    shape, fortran_order, dtype = _NPY_HEADERS[version](header)
    if dtype.hasobject:
        raise ValueError("a .npy file of Python objects (it would need pickle)")
    count = math.prod(shape)
    if header.tell() + count * dtype.itemsize != len(data):
        raise ValueError(f".npy size {len(data)} does not match its header's shape {shape}")
    array = np.frombuffer(data, dtype=dtype, count=count, offset=header.tell())
    return array.reshape(shape, order="F" if fortran_order else "C")


def _write_jsonl(path: Path, rows: Iterator[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def _parse_jsonl(data: np.ndarray) -> list[dict[str, Any]]:
    # One json.loads over the whole file parses twice as fast as one per line. Split on "\n" only:
    # the strings may hold U+2028 and other characters that str.splitlines() would break at.
    lines = [line for line in str(data, "utf-8").split("\n") if line.strip()]
    return json.loads("[" + ",".join(lines) + "]")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class IndexStore:
    """Saves and loads `IndexData` under one directory (INDEX_DIR)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._previous = directory.with_name(directory.name + ".previous")

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Serialise writers across processes (the bot and a `reindex` from the shell)."""
        self.directory.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.directory.with_name(f".{self.directory.name}.lock")
        with lock_path.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def save(self, data: IndexData) -> None:
        """Write `data` beside INDEX_DIR, then rename it into place."""
        import faiss

        parent = self.directory.parent
        parent.mkdir(parents=True, exist_ok=True)
        self._remove_leftovers()
        staging = Path(tempfile.mkdtemp(prefix=f".{self.directory.name}.tmp-", dir=parent))
        try:
            _write_jsonl(staging / "passages.jsonl", (asdict(p) for p in data.passages))
            _write_jsonl(staging / "units.jsonl", (asdict(u) for u in data.units))
            np.save(staging / "vectors.npy", data.vectors, allow_pickle=False)
            files = _FILES
            search_index = data.search_index
            if search_index is None or search_index.ntotal != len(data.vectors):
                search_index = build_vector_index(data.vectors)
            if not isinstance(search_index, ExactIndex):
                faiss.write_index(search_index, str(staging / _FAISS))
                files = (*files, _FAISS)
            if data.lexical is not None:
                np.savez(staging / _LEXICAL, **data.lexical.to_arrays())
                files = (*files, _LEXICAL)
            checksums = {name: _file_checksum(staging / name) for name in files}
            manifest = {**asdict(data.manifest), "checksums": checksums}
            (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
            for name in (*files, "manifest.json"):
                with (staging / name).open("rb") as handle:
                    os.fsync(handle.fileno())
            self._swap_in(staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    def _swap_in(self, staging: Path) -> None:
        # Two renames: INDEX_DIR → INDEX_DIR.previous, staging → INDEX_DIR. A crash between them
        # leaves only .previous, which `load` renames back.
        if self.directory.exists():
            shutil.rmtree(self._previous, ignore_errors=True)
            os.rename(self.directory, self._previous)
        os.rename(staging, self.directory)
        _fsync_dir(self.directory.parent)
        shutil.rmtree(self._previous, ignore_errors=True)

    def _remove_leftovers(self) -> None:
        """Delete staging directories that a crashed build left behind."""
        for stale in self.directory.parent.glob(f".{self.directory.name}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)

    def load(self) -> IndexData:
        """The saved index, verified against its manifest; raises `IndexUnavailable` saying why not."""
        if not self.directory.exists() and self._previous.exists():
            log.warning("recovering the index from %s (a build was interrupted)", self._previous)
            os.rename(self._previous, self.directory)
        if not self.directory.exists():
            raise IndexUnavailable(f"no index at {self.directory}")
        try:
            return self._read()
        except IndexUnavailable:
            raise
        except (OSError, ValueError, KeyError, TypeError, RuntimeError, zipfile.BadZipFile) as error:
            # RuntimeError: FAISS reports a malformed file this way; BadZipFile: numpy a malformed .npz.
            raise IndexUnavailable(f"the index at {self.directory} is unreadable ({error})") from error

    def _read(self) -> IndexData:
        import faiss

        manifest_path = self.directory / "manifest.json"
        if not manifest_path.exists():
            raise IndexUnavailable(f"the index at {self.directory} has no manifest (incomplete)")
        manifest = Manifest.from_json(json.loads(manifest_path.read_text(encoding="utf-8")))
        if manifest.schema != SCHEMA_VERSION:
            raise IndexUnavailable(
                f"the index was built by schema {manifest.schema}, this version uses {SCHEMA_VERSION}"
            )
        # Each file is read once, checked against the manifest's checksum, and parsed from memory.
        # index.faiss exists only for an approximate index; lexical.npz is optional (indexes saved
        # without it build BM25 when served).
        files = {name: self._verified(name, manifest) for name in _FILES}
        passages = tuple(Passage(**row) for row in _parse_jsonl(files["passages.jsonl"]))
        units = tuple(Unit(**row) for row in _parse_jsonl(files["units.jsonl"]))
        vectors = _npy_array(files["vectors.npy"])
        if vectors.dtype != np.float32 or vectors.ndim != 2 or vectors.shape[1] != manifest.dimension:
            raise IndexUnavailable(f"vectors.npy has shape {vectors.shape}, not (n, {manifest.dimension})")
        search_index = ExactIndex(vectors)
        if _FAISS in manifest.checksums:
            search_index = configure(faiss.deserialize_index(self._verified(_FAISS, manifest)))
            if search_index.ntotal != len(vectors) or search_index.d != manifest.dimension:
                raise IndexUnavailable("index.faiss does not match vectors.npy")
        lexical = None
        if _LEXICAL in manifest.checksums:
            with np.load(io.BytesIO(self._verified(_LEXICAL, manifest)), allow_pickle=False) as arrays:
                lexical = Bm25.from_arrays({name: arrays[name] for name in arrays.files})
        return IndexData(
            manifest=manifest,
            passages=passages,
            units=units,
            vectors=vectors,
            search_index=search_index,
            lexical=lexical,
        )

    def _verified(self, name: str, manifest: Manifest) -> np.ndarray:
        """The bytes of one index file, if they match the manifest's checksum."""
        return _read_checked(self.directory / name, manifest.checksums.get(name))
