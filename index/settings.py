"""Where the articles and the index live, and which model embeds them (from the environment)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class IndexSettings:
    """ARTICLES_DIR, INDEX_DIR, EMBEDDING_MODEL and EMBEDDING_BACKEND, with their defaults."""

    articles_dir: Path = Path("data/articles")
    index_dir: Path = Path("var/index")
    embedding_model: str | None = None
    embedding_backend: str = "onnx"  # onnx | onnx-int8 | torch (see index.startup.BACKENDS)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> IndexSettings:
        """Read the settings from `env` (default: the process environment); blank means default."""
        env = os.environ if env is None else env
        return cls(
            articles_dir=Path(env.get("ARTICLES_DIR", "").strip() or cls.articles_dir),
            index_dir=Path(env.get("INDEX_DIR", "").strip() or cls.index_dir),
            embedding_model=env.get("EMBEDDING_MODEL", "").strip() or None,
            embedding_backend=env.get("EMBEDDING_BACKEND", "").strip().lower() or cls.embedding_backend,
        )

    @property
    def model_cache_dir(self) -> Path:
        """Where exported (ONNX) models are cached: `models/` beside INDEX_DIR."""
        return self.index_dir.parent / "models"
