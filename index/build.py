"""Building an index from articles: passages and their sentences, embedded, reusing what a previous
index already embedded (keyed by a hash of the model and the exact text).
"""

from __future__ import annotations

import hashlib
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from index.aliases import Aliases, LibraryAliases, expand_aliases, expand_for_counting, learn_library_aliases
from index.articles import Article, ArticleSet, article_passages, load_articles
from index.embedding import Embedder
from index.lexical import Bm25
from index.passages import Passage, split_clauses, split_sentences
from index.settings import IndexSettings
from index.store import SCHEMA_VERSION, IndexData, IndexDirRefused, IndexStore, Manifest
from index.units import Unit, UnitKind, Units
from index.vector_index import build_vector_index

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildStats:
    """What a (re)index did."""

    articles: int
    passages: int
    vectors: int
    embedded: int
    reused: int
    seconds: float
    warnings: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line for a log, a terminal or an admin's Discord reply."""
        return (
            f"{self.articles} article(s), {self.passages} passages, {self.embedded} embedded, "
            f"{self.reused} reused, {self.seconds:.1f} s"
        )


def _cache_key(model: str, text: str) -> str:
    return hashlib.sha256(f"{model}\n{text}".encode()).hexdigest()


def manifest_entry(article: Article, passages: int) -> dict[str, Any]:
    """What the manifest records of one article: enough to tell whether its file changed, and to
    list and cite it without reading the file."""
    return {
        "source": article.source,
        "title": article.title,
        "digest": article.digest,
        "signature": article.signature,
        "source_url": article.url,
        "added": article.added,
        "passages": passages,
    }


def plan_units(passages: list[Passage]) -> list[tuple[int, str, UnitKind]]:
    """What gets a vector: each passage; each of its sentences when it has more than one (so a
    question about one sentence of a long paragraph still finds it, and the answer can bold it); and
    each clause of a sentence that has several (a question often paraphrases one clause: "the city's
    top lawyer" ~ ", city solicitor Marcel Pratt said,")."""
    units: list[tuple[int, str, UnitKind]] = []
    for number, passage in enumerate(passages):
        units.append((number, passage.text, "passage"))
        sentences = split_sentences(passage.text)
        for sentence in sentences:
            if len(sentences) > 1:
                units.append((number, sentence, "sentence"))
            clauses = split_clauses(sentence)
            if len(clauses) > 1:
                units.extend((number, clause, "clause") for clause in clauses)
    return units


def lexical_index(passages: Sequence[Passage], aliases: LibraryAliases) -> Bm25:
    """BM25 over the passages as word counting should see them (see
    index.aliases.expand_for_counting)."""
    return Bm25(
        [
            expand_for_counting(passage.text, aliases.of(passage.source), passage.source)
            for passage in passages
        ]
    )


def model_text(text: str, passage: Passage, aliases: LibraryAliases) -> str:
    """What the model reads for a unit: its words with its article's aliases spelled out (see
    index.aliases)."""
    return expand_aliases(text, aliases.of(passage.source), passage.source)


_RESIZE_ATTEMPTS = 4


def sized_passages(article: Article, aliases: Aliases, embedder: Embedder) -> list[Passage]:
    """The passages of `article`, sized on what the model reads of each (its text with aliases spelled
    out, `model_text`), so no passage's tail is cut off by the model's window."""

    def reads(text: str) -> int:
        return embedder.count_tokens(expand_aliases(text, aliases, article.source))

    budget = embedder.max_tokens
    for _ in range(_RESIZE_ATTEMPTS):
        passages = article_passages(article, budget, reads)
        # Sizes are summed per sentence, and a piece's additions can differ from its sentences'
        # (a name described once per piece): re-cut with a smaller budget by what spilled over.
        over = max((reads(passage.text) for passage in passages), default=0) - embedder.max_tokens
        if over <= 0:
            break
        budget = max(1, budget - over)
    return passages


def build_index(
    articles: ArticleSet, embedder: Embedder, previous: IndexData | None = None
) -> tuple[IndexData, BuildStats]:
    """Embed `articles` into a new `IndexData`, re-embedding only text `previous` didn't have."""
    started = time.perf_counter()
    aliases = learn_library_aliases(articles.articles)
    passages: list[Passage] = []
    counts: list[int] = []
    for article in articles.articles:
        own = sized_passages(article, aliases.of(article.source), embedder)
        passages.extend(own)
        counts.append(len(own))
    if not passages:
        raise ValueError("the articles gave no passages")  # load_articles guarantees some
    planned = plan_units(passages)
    embedded_texts = [model_text(text, passages[number], aliases) for number, text, _ in planned]
    keys = [_cache_key(embedder.identity, text) for text in embedded_texts]

    cache: dict[str, np.ndarray] = {}
    if previous is not None and previous.manifest.model == embedder.identity:
        cache = {unit.key: previous.vectors[row] for row, unit in enumerate(previous.units)}
    missing = {key: text for key, text in zip(keys, embedded_texts, strict=True) if key not in cache}
    if missing:
        show_progress = sys.stderr.isatty() and len(missing) > 64
        fresh = embedder.embed(list(missing.values()), progress=show_progress)
        cache.update(zip(missing, fresh, strict=True))
    vectors = np.stack([cache[key] for key in keys]).astype(np.float32, copy=False)

    manifest = Manifest(
        schema=SCHEMA_VERSION,
        model=embedder.identity,
        dimension=embedder.dimension,
        articles=tuple(
            manifest_entry(article, count) for article, count in zip(articles.articles, counts, strict=True)
        ),
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        aliases=aliases.to_manifest(),
    )
    units = Units.of(
        Unit(passage=number, text=text, key=key, kind=kind)
        for (number, text, kind), key in zip(planned, keys, strict=True)
    )
    # The FAISS and BM25 indexes are built once here; the store saves them and the retriever serves them.
    data = IndexData(
        manifest=manifest,
        passages=tuple(passages),
        units=units,
        vectors=vectors,
        search_index=build_vector_index(vectors),
        lexical=lexical_index(passages, aliases),
    )
    stats = BuildStats(
        articles=len(articles.articles),
        passages=len(passages),
        vectors=len(units),
        embedded=len(missing),
        reused=len(set(keys)) - len(missing),
        seconds=time.perf_counter() - started,
        warnings=articles.warnings,
    )
    return data, stats


def index_store(settings: IndexSettings) -> IndexStore:
    """The store of INDEX_DIR, its writers' lock in MODEL_CACHE_DIR (one lock per INDEX_DIR for
    every process that uses these settings)."""
    return IndexStore(settings.index_dir, lock_dir=settings.model_cache_dir)


def keep_apart(settings: IndexSettings) -> None:
    """Raise IndexDirRefused when INDEX_DIR is ARTICLES_DIR, inside it or around it: a reindex
    replaces INDEX_DIR whole."""
    articles, index = settings.articles_dir.resolve(), settings.index_dir.resolve()
    if articles == index or articles in index.parents or index in articles.parents:
        raise IndexDirRefused(
            f"INDEX_DIR {settings.index_dir} and ARTICLES_DIR {settings.articles_dir} overlap (a reindex "
            "replaces INDEX_DIR whole); keep them in separate folders"
        )


def rebuild(
    settings: IndexSettings, embedder: Embedder, previous: IndexData | None
) -> tuple[IndexData, BuildStats]:
    """Build from ARTICLES_DIR (reusing `previous`'s embeddings) and save atomically."""
    keep_apart(settings)
    store = index_store(settings)
    with store.lock():
        articles = load_articles(settings.articles_dir)
        data, stats = build_index(articles, embedder, previous)
        store.save(data)
    log.info("index built: %s", stats.summary())
    return data, stats
