"""Where the articles and the index live, and which model embeds them (from the environment)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# The project's folder: the defaults live under it, whatever the working directory.
PROJECT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class IndexSettings:
    """ARTICLES_DIR, INDEX_DIR, MODEL_CACHE_DIR, EMBEDDING_MODEL and EMBEDDING_BACKEND, with their
    defaults."""

    articles_dir: Path = PROJECT / "data" / "articles"
    index_dir: Path = PROJECT / "var" / "index"
    embedding_model: str | None = None
    embedding_backend: str = "onnx"  # onnx | onnx-int8 | torch (see index.startup.BACKENDS)
    # The exported model and the index's writer lock: a folder the project owns, never INDEX_DIR's
    # parent (INDEX_DIR may be anywhere).
    model_cache_dir: Path = PROJECT / "var" / "models"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> IndexSettings:
        """Read the settings from `env` (default: the process environment); blank means default."""
        env = os.environ if env is None else env
        return cls(
            articles_dir=Path(env.get("ARTICLES_DIR", "").strip() or cls.articles_dir),
            index_dir=Path(env.get("INDEX_DIR", "").strip() or cls.index_dir),
            embedding_model=env.get("EMBEDDING_MODEL", "").strip() or None,
            embedding_backend=env.get("EMBEDDING_BACKEND", "").strip().lower() or cls.embedding_backend,
            model_cache_dir=Path(env.get("MODEL_CACHE_DIR", "").strip() or cls.model_cache_dir),
        )
