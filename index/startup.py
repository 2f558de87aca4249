"""Getting a `Retriever` ready: load the model, open the article library and the saved index,
rebuilding the index when it is missing, stale (articles or model changed) or unreadable."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from pathlib import Path

from index.articles import ArticleError, article_files, file_signature, read_article
from index.build import BuildStats, index_store, rebuild
from index.embedding import Embedder, model_fingerprint, model_name, resolve_model_path
from index.libraries import Library, library_settings, open_library
from index.retriever import Retriever
from index.settings import IndexSettings
from index.store import IndexData, IndexUnavailable

log = logging.getLogger(__name__)


def load_embedder(settings: IndexSettings) -> Embedder:
    """The embedding model named by EMBEDDING_MODEL (or the packaged all-MiniLM-L6-v2), run by
    EMBEDDING_BACKEND; the ONNX backends export the model once into `settings.model_cache_dir`."""
    path = resolve_model_path(settings.embedding_model)
    backend = settings.embedding_backend
    identity = f"{model_name(path)}@{model_fingerprint(path, cache_dir=settings.model_cache_dir)}"
    if backend == "torch":
        from index.embedding import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(path, identity=identity)
    from index.onnx_backend import OnnxEmbedder, ensure_exported

    variant = "int8" if backend == "onnx-int8" else "fp32"
    onnx_path = ensure_exported(path, settings.model_cache_dir, variant)
    return OnnxEmbedder(path, onnx_path, identity=identity if variant == "fp32" else f"{identity}+int8")


def _usable(path: Path) -> bool:
    """True when a build would keep the article file (it is UTF-8 text with prose in it...)."""
    try:
        read_article(path)
    except ArticleError as error:
        log.warning("skipped %s", error)
        return False
    return True


def _current_digest(path: Path, built: Mapping[str, str]) -> str:
    """The sha256 of the article file at `path`; the digest the index recorded (`built`) when the
    file's signature is still the one it had then, so an unchanged file is not read at every start."""
    if built.get("signature") and file_signature(path.stat()) == built["signature"]:
        return built["digest"]
    # Hashing streams: the file may have grown to gigabytes since, and must not be read into memory.
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def staleness(data: IndexData, settings: IndexSettings, embedder: Embedder) -> str | None:
    """Why `data` no longer matches the articles and model (None when it still does)."""
    if data.manifest.model != embedder.identity:
        return f"the model changed ({data.manifest.model} → {embedder.identity})"
    if any("passages" not in article for article in data.manifest.articles):
        # its embeddings are still good: the rebuild reuses them
        return "it was built before the index recorded each article's source, date added and passages"
    built = {article["source"]: article for article in data.manifest.articles}
    current: dict[str, str] = {}
    for path in article_files(settings.articles_dir):
        # Only files the index holds need their bytes compared (a skipped file may be gigabytes).
        current[path.name] = _current_digest(path, built[path.name]) if path.name in built else ""
    changed = sorted(name for name in current if name in built and current[name] != built[name]["digest"])
    # A file the build skipped (empty, not UTF-8...) is not in the manifest; it is only news when
    # it has become readable, else every start would rebuild for it.
    added = sorted(name for name in current.keys() - built.keys() if _usable(settings.articles_dir / name))
    removed = sorted(built.keys() - current.keys())
    if not (changed or added or removed):
        return None
    parts = [
        f"{label} {', '.join(names)}"
        for label, names in (("changed:", changed), ("added:", added), ("removed:", removed))
        if names
    ]
    return "the articles changed (" + "; ".join(parts) + ")"


def open_index(settings: IndexSettings, embedder: Embedder) -> tuple[IndexData, BuildStats | None]:
    """The saved index of `settings`, rebuilt first when it is missing, stale or unreadable; and the
    stats of the build if one was needed."""
    store = index_store(settings)
    previous: IndexData | None = None
    try:
        previous = store.load()
        reason = staleness(previous, settings, embedder)
    except IndexUnavailable as why:
        reason = str(why)
    if reason is None and previous is not None:
        return previous, None
    log.info("rebuilding the index: %s", reason)
    return rebuild(settings, embedder, previous)


def open_retriever(
    settings: IndexSettings, embedder: Embedder | None = None, *, library: Library | None = None
) -> tuple[Retriever, BuildStats | None]:
    """A ready `Retriever` of `library` (default: the settings' own, `open_library`), and the stats
    of the build if one was needed. Raises `DatabaseError` when the database's library can't be
    opened, `LibraryError` when it is empty."""
    embedder = embedder or load_embedder(settings)
    library = library if library is not None else open_library(settings)
    data, stats = open_index(library_settings(settings, library), embedder)
    return Retriever(embedder, data, settings=settings, library=library), stats
