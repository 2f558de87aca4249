"""The index on disk: a directory of plain files, written atomically, checked before it is served.

    INDEX_DIR/
      manifest.json    schema, model, articles (with hashes), build time, a checksum of every file
      passages.jsonl   one passage per line, with its article and paragraph
      passages.npy     where each line of passages.jsonl starts
      units.jsonl      one line per vector: the text embedded and its hash (the embedding cache key)
      units.npy        one record per vector: the passage it belongs to, its kind (index.units), and
                       where its line of units.jsonl starts
      vectors.npy      the unit vectors (float32, L2-normalised): also the embedding cache, and all an
                       exact search needs (see index.vector_index)
      index.faiss      only for a large corpus: the approximate FAISS index (IVF) over those vectors
      lexical-terms.npy, lexical-postings.npy
                       BM25 over the passages (index.lexical), so serving needn't re-tokenize every
                       passage (optional: an index without them builds BM25 when loaded)

A build is written to a temporary directory beside INDEX_DIR and renamed into place, so a crash
mid-build leaves the previous index as it was. No pickle anywhere. Every file is checked against its
checksum before it is parsed: XXH3-64, which detects corruption (not tampering) about ten times as
fast as CRC-32 and fifteen times as fast as sha256 here (docs/benchmarks.md, "Restarts"). Indexes
saved with CRC-32 checksums by earlier versions (same schema) are still verified and served.

Loading parses no JSON line: search needs only the arrays, and an answer's few passages and units are
parsed when they are read (`JsonLines`), from bytes already checked.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import logging
import math
import os
import shutil
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import xxhash

from index.lexical import Bm25
from index.passages import Passage
from index.units import Units
from index.vector_index import ExactIndex, build_vector_index, configure

log = logging.getLogger(__name__)

SCHEMA_VERSION = 8
_FILES = ("passages.jsonl", "passages.npy", "units.jsonl", "units.npy", "vectors.npy")
_FAISS = "index.faiss"
_LEXICAL = {"terms": "lexical-terms.npy", "postings": "lexical-postings.npy"}
_UNIT_RECORD = np.dtype([("passage", "<i8"), ("kind", "u1"), ("line", "<i8")])

Row = TypeVar("Row")


# Written into every index this store saves: the store replaces or deletes only folders that hold it
# (or, saved before it existed, a manifest) and nothing but the store's own files.
MARKER = "ARTICLE-QA-INDEX"
_MARKER_TEXT = (
    "An index written by the article Q&A bot; `python run_bot.py reindex` replaces this folder whole.\n"
)


_OWN_FILES = frozenset({*_FILES, _FAISS, *_LEXICAL.values(), "manifest.json", MARKER})


class IndexDirRefused(Exception):
    """INDEX_DIR names a folder the store may not replace or delete; the message says which and why."""


class IndexUnavailable(Exception):
    """The index on disk can't be served as it is (missing, unreadable, stale); says why."""


@dataclass(frozen=True)
class Manifest:
    """What an index was built from and with."""

    schema: int
    model: str
    dimension: int
    articles: tuple[dict[str, Any], ...]  # index.build.manifest_entry: file name, title, digest...
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
    passages: Sequence[Passage]  # a tuple, or (loaded) the lines of passages.jsonl, parsed when read
    units: Units
    vectors: np.ndarray
    # The index over `vectors` (index.vector_index) as built or read; None means "build one from `vectors`".
    search_index: Any = field(default=None, compare=False, repr=False)
    # BM25 over the passages (index.lexical.Bm25) as built or read; None means "build it when serving".
    lexical: Bm25 | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.units) != len(self.vectors):
            raise ValueError(f"{len(self.units)} units but {len(self.vectors)} vectors")
        if not len(self.passages):
            raise ValueError("an index needs at least one passage")
        owners = self.units.passage
        if len(owners) and not (owners.min() >= 0 and owners.max() < len(self.passages)):
            raise ValueError("a unit points at a passage that does not exist")
        if np.bincount(owners, minlength=len(self.passages)).min() == 0:
            raise ValueError("a passage without a unit (every passage has a vector of its own)")


# Files are read in pieces of this size, each checksummed right after it is read, while it is still in
# the CPU cache (about a third faster than checksumming the whole file after reading it).
_CHUNK = 1 << 18
_NPY_HEADERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


def checksum(data: bytes) -> str:
    """The checksum the manifest records for a file holding `data`."""
    return f"{_ALGORITHM}:{xxhash.xxh3_64_intdigest(data):016x}"


class _Crc32:
    """zlib's CRC-32 with hashlib's update/hexdigest: the checksum of indexes saved before XXH3."""

    def __init__(self) -> None:
        self._crc = 0

    def update(self, data: memoryview | bytes) -> None:
        self._crc = zlib.crc32(data, self._crc)

    def hexdigest(self) -> str:
        return f"{self._crc:08x}"


_ALGORITHM = "xxh3_64"
_HASHERS: dict[str, Callable[[], Any]] = {_ALGORITHM: xxhash.xxh3_64, "crc32": _Crc32}


def _hasher(expected: str | None) -> tuple[str, Any]:
    """The algorithm named by a manifest's checksum ("name:hex"), and a fresh hasher for it."""
    algorithm = (expected or "").partition(":")[0]
    if algorithm not in _HASHERS:
        raise IndexUnavailable(f"unknown checksum {expected!r} in the manifest")
    return algorithm, _HASHERS[algorithm]()


def _file_checksum(path: Path) -> str:
    hasher = xxhash.xxh3_64()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            hasher.update(chunk)
    return f"{_ALGORITHM}:{hasher.hexdigest()}"


def _read_checked(path: Path, expected: str | None) -> np.ndarray:
    """The bytes of a file (as a new uint8 array), if they match the checksum `expected`."""
    algorithm, hasher = _hasher(expected)
    size = path.stat().st_size
    data = np.empty(size, dtype=np.uint8)  # numpy asks for huge pages: faster to fill than bytes
    view = memoryview(data)
    with path.open("rb", buffering=0) as handle:
        for start in range(0, size, _CHUNK):
            chunk = view[start : start + _CHUNK]
            if handle.readinto(chunk) != len(chunk):
                raise IndexUnavailable(f"{path.name} changed while it was read")
            hasher.update(chunk)
    if f"{algorithm}:{hasher.hexdigest()}" != expected:
        raise IndexUnavailable(f"{path.name} does not match the manifest's checksum (corrupt)")
    return data


def _npy_array(data: np.ndarray) -> np.ndarray:
    """The array held by the bytes of a .npy file, as a view of them (np.load would copy)."""
    header = io.BytesIO(data[:4096].tobytes())  # the headers this store writes are far shorter
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


def _write_jsonl(path: Path, rows: Iterable[Any]) -> np.ndarray:
    """Write one JSON line per row; returns where each line starts."""
    lines = [(json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8") for row in rows]
    path.write_bytes(b"".join(lines))
    starts = np.zeros(len(lines), dtype=np.int64)
    np.cumsum([len(line) for line in lines[:-1]], out=starts[1:])
    return starts


PARSED_ROWS_KEPT = 4096  # a few MB of passages: what answers keep reading


class JsonLines(Sequence[Row]):
    """The rows of a JSONL file, kept as its bytes and parsed one at a time when read: a question
    reads a few passages, so a start needn't parse thousands. `make` builds a row from its fields."""

    def __init__(self, data: np.ndarray, starts: np.ndarray, make: Callable[..., Row]) -> None:
        # JSON escapes every newline inside a string, so each line ends just before the next starts.
        ends = np.append(starts[1:], len(data))
        if len(starts) and (starts[0] != 0 or np.any(ends <= starts) or np.any(data[ends - 1] != ord("\n"))):
            raise ValueError(f"{len(starts)} line starts that do not match the file's lines")
        if not len(starts) and len(data):
            raise ValueError("a file with lines but no line starts")
        self._data = data
        self._starts = starts
        self._ends = ends
        self._make = make
        self._parsed: dict[int, Row] = {}  # rows read before: answers keep reading the same few

    def __len__(self) -> int:
        return len(self._starts)

    def __getitem__(self, row: int) -> Row:  # type: ignore[override]  # rows, not slices
        row = range(len(self))[row]  # IndexError out of range; negative rows count from the end
        parsed = self._parsed.get(row)
        if parsed is None:
            line = self._data[int(self._starts[row]) : int(self._ends[row])]
            parsed = self._make(**json.loads(line.tobytes()))
            if len(self._parsed) >= PARSED_ROWS_KEPT:
                self._parsed.clear()  # bounded: a huge index read end to end doesn't keep every row
            self._parsed[row] = parsed
        return parsed

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"JsonLines({len(self)} rows)"


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink in `path` durable (the directory's own entry is flushed)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class IndexStore:
    """Saves and loads `IndexData` under one directory (INDEX_DIR)."""

    def __init__(self, directory: Path, lock_dir: Path | None = None) -> None:
        if not directory.resolve().name:
            raise IndexDirRefused(f"INDEX_DIR {directory} is the root folder; name a folder of its own")
        self.directory = directory.resolve() if not directory.name else directory
        self._previous = self.directory.with_name(self.directory.name + ".previous")
        # the writers' lock: in `lock_dir` (a folder the project owns), named after INDEX_DIR
        where = hashlib.sha256(str(self.directory.resolve()).encode()).hexdigest()[:16]
        self._lock_path = (
            lock_dir / f"index-{where}.lock"
            if lock_dir is not None
            else self.directory.with_name(f".{self.directory.name}.lock")
        )

    def check_replaceable(self) -> None:
        """Raise IndexDirRefused unless INDEX_DIR (and its `.previous`) are missing, empty, or an index
        this store made: a reindex replaces them whole."""
        for folder in (self.directory, self._previous):
            if not (folder.exists() or folder.is_symlink()):
                continue
            if folder.is_symlink() or not folder.is_dir():
                raise IndexDirRefused(f"INDEX_DIR {folder} is not a folder; point INDEX_DIR at a new folder")
            names = {entry.name for entry in os.scandir(folder)}
            if names and not (names <= _OWN_FILES and names & {MARKER, "manifest.json"}):
                raise IndexDirRefused(
                    f"INDEX_DIR {folder} holds files the index did not write (a reindex replaces the folder "
                    "whole); point INDEX_DIR at an empty or new folder"
                )

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Serialise writers across processes (the bot and a `reindex` from the shell)."""
        self._lock_path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock_path.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def save(self, data: IndexData) -> None:
        """Write `data` beside INDEX_DIR, then rename it into place."""
        import faiss

        self.check_replaceable()
        parent = self.directory.parent
        parent.mkdir(parents=True, exist_ok=True)
        self._remove_leftovers()
        staging = Path(tempfile.mkdtemp(prefix=f".{self.directory.name}.tmp-", dir=parent))
        try:
            passage_lines = _write_jsonl(staging / "passages.jsonl", (asdict(p) for p in data.passages))
            np.save(staging / "passages.npy", passage_lines)
            records = np.empty(len(data.units), dtype=_UNIT_RECORD)
            records["passage"], records["kind"] = data.units.passage, data.units.kind
            records["line"] = _write_jsonl(staging / "units.jsonl", data.units.rows)
            np.save(staging / "units.npy", records)
            np.save(staging / "vectors.npy", data.vectors, allow_pickle=False)
            files = _FILES
            search_index = data.search_index
            if search_index is None or search_index.ntotal != len(data.vectors):
                search_index = build_vector_index(data.vectors)
            if not isinstance(search_index, ExactIndex):
                faiss.write_index(search_index, str(staging / _FAISS))
                files = (*files, _FAISS)
            if data.lexical is not None:
                for part, array in data.lexical.to_arrays().items():
                    np.save(staging / _LEXICAL[part], array)
                files = (*files, *_LEXICAL.values())
            checksums = {name: _file_checksum(staging / name) for name in files}
            manifest = {**asdict(data.manifest), "checksums": checksums}
            (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
            (staging / MARKER).write_text(_MARKER_TEXT)
            for name in (*files, "manifest.json", MARKER):
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
        fsync_dir(self.directory.parent)
        shutil.rmtree(self._previous, ignore_errors=True)

    def _remove_leftovers(self) -> None:
        """Delete staging directories that a crashed build left behind."""
        for stale in self.directory.parent.glob(f".{self.directory.name}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)

    def load(self) -> IndexData:
        """The saved index, verified against its manifest; raises `IndexUnavailable` saying why not."""
        if not self.directory.exists() and self._previous.exists():
            # under the writers' lock: a save running now is between its two renames, not crashed
            with self.lock():
                if not self.directory.exists() and self._previous.exists():
                    self.check_replaceable()
                    log.warning("recovering the index from %s (a build was interrupted)", self._previous)
                    os.rename(self._previous, self.directory)
        if not self.directory.exists():
            raise IndexUnavailable(f"no index at {self.directory}")
        try:
            return self._read()
        except IndexUnavailable:
            raise
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as error:
            # RuntimeError: FAISS reports a malformed file this way.
            why = f"its manifest has no {error.args[0]!r}" if isinstance(error, KeyError) else str(error)
            raise IndexUnavailable(f"the index at {self.directory} is unreadable ({why})") from error

    def read_manifest(self) -> Manifest:
        """What the saved index was built from, reading its manifest alone (nothing verified: for
        listing, not serving); raises `IndexUnavailable` when there is none to read."""
        path = self.directory / "manifest.json"
        try:
            return Manifest.from_json(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise IndexUnavailable(f"no index at {self.directory}") from None
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise IndexUnavailable(f"the index's manifest {path} is unreadable ({error})") from error

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
        # index.faiss exists only for an approximate index; BM25's files are optional (indexes saved
        # without them build BM25 when served).
        files = {name: self._verified(name, manifest) for name in _FILES}
        passage_lines = _npy_array(files["passages.npy"])
        if passage_lines.dtype != np.int64 or passage_lines.ndim != 1:
            raise ValueError(
                f"passages.npy holds {passage_lines.dtype} {passage_lines.shape}, not line starts"
            )
        passages = JsonLines(files["passages.jsonl"], passage_lines, Passage)
        records = _npy_array(files["units.npy"])
        if records.dtype != _UNIT_RECORD or records.ndim != 1:
            raise ValueError(f"units.npy holds {records.dtype} {records.shape}, not unit records")
        units = Units(
            passage=np.ascontiguousarray(records["passage"]),
            kind=np.ascontiguousarray(records["kind"]),
            rows=JsonLines(files["units.jsonl"], np.ascontiguousarray(records["line"]), dict),
        )
        vectors = _npy_array(files["vectors.npy"])
        if vectors.dtype != np.float32 or vectors.ndim != 2 or vectors.shape[1] != manifest.dimension:
            raise IndexUnavailable(f"vectors.npy has shape {vectors.shape}, not (n, {manifest.dimension})")
        search_index = ExactIndex(vectors)
        if _FAISS in manifest.checksums:
            search_index = configure(faiss.deserialize_index(self._verified(_FAISS, manifest)))
            if search_index.ntotal != len(vectors) or search_index.d != manifest.dimension:
                raise IndexUnavailable("index.faiss does not match vectors.npy")
        lexical = None
        if _LEXICAL["terms"] in manifest.checksums:
            arrays = {part: _npy_array(self._verified(name, manifest)) for part, name in _LEXICAL.items()}
            lexical = Bm25.from_arrays(**arrays, documents=len(passages))
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
