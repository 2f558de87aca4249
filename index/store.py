"""The index on disk: a directory of plain files, written atomically, checked before it is served.

    INDEX_DIR/
      manifest.json    schema, model, articles (with hashes), build time, file checksums
      passages.jsonl   one passage per line, with its article and paragraph
      units.jsonl      one line per vector: the passage it belongs to, the text embedded, its hash
      vectors.npy      the unit vectors (float32, L2-normalised): also the embedding cache
      index.faiss      the FAISS index over those vectors (inner product = cosine): exact for a small
                       corpus, approximate (IVF) for a large one (see index.vector_index)
      lexical.npz      BM25 postings over the passages, so serving needn't re-tokenize every passage
                       (optional: an index without it builds BM25 when loaded)

A build is written to a temporary directory beside INDEX_DIR and renamed into place, so a crash
mid-build leaves the previous index as it was. No pickle anywhere.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from index.lexical import Bm25
from index.passages import Passage
from index.vector_index import build_vector_index, configure

log = logging.getLogger(__name__)

SCHEMA_VERSION = 4
_FILES = ("passages.jsonl", "units.jsonl", "vectors.npy", "index.faiss")
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
    # The FAISS index over `vectors` as read from disk; None means "build one from `vectors`".
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


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _write_jsonl(path: Path, rows: Iterator[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def _parse_jsonl(data: bytes) -> list[dict[str, Any]]:
    # One json.loads over the whole file parses twice as fast as one per line. Split on "\n" only:
    # the strings may hold U+2028 and other characters that str.splitlines() would break at.
    lines = [line for line in data.decode("utf-8").split("\n") if line.strip()]
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
            search_index = data.search_index
            if search_index is None or search_index.ntotal != len(data.vectors):
                search_index = build_vector_index(data.vectors)
            faiss.write_index(search_index, str(staging / "index.faiss"))
            files = _FILES
            if data.lexical is not None:
                np.savez(staging / _LEXICAL, **data.lexical.to_arrays())
                files = (*_FILES, _LEXICAL)
            checksums = {name: _sha256(staging / name) for name in files}
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
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as error:
            # RuntimeError: FAISS reports a malformed file this way.
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
        # lexical.npz is optional (indexes saved without it build BM25 when served).
        files = {name: self._verified(name, manifest) for name in _FILES}
        passages = tuple(Passage(**row) for row in _parse_jsonl(files["passages.jsonl"]))
        units = tuple(Unit(**row) for row in _parse_jsonl(files["units.jsonl"]))
        vectors = np.load(io.BytesIO(files["vectors.npy"]), allow_pickle=False)
        if vectors.dtype != np.float32 or vectors.ndim != 2 or vectors.shape[1] != manifest.dimension:
            raise IndexUnavailable(f"vectors.npy has shape {vectors.shape}, not (n, {manifest.dimension})")
        raw = np.frombuffer(files["index.faiss"], dtype=np.uint8)
        search_index = configure(faiss.deserialize_index(raw))
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

    def _verified(self, name: str, manifest: Manifest) -> bytes:
        """The bytes of one index file, if they match the manifest's checksum."""
        data = (self.directory / name).read_bytes()
        if manifest.checksums.get(name) != hashlib.sha256(data).hexdigest():
            raise IndexUnavailable(f"{name} does not match the manifest's checksum (corrupt)")
        return data
