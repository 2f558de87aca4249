"""Questions in, `Answer`s out: candidates (dense FAISS + BM25, index.candidates), their features
(index.features), and the fitted scorer's ranking and confidence (index.scorer).

The index a `Retriever` serves is an immutable `SearchIndex`; a reindex builds a new one and swaps
the reference, so questions asked meanwhile are answered from the old one, never a half-built one.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from index.aliases import LibraryAliases
from index.answer import Answer, Confidence, Hit
from index.build import BuildStats, lexical_index, rebuild
from index.candidates import PER_SIGNAL, gather
from index.conversation import SHOWN_WITHIN, Turn, in_context, in_turn
from index.embedding import Embedder
from index.features import CANDIDATE_FEATURES, candidate_features
from index.lexical import QueryScores
from index.libraries import FolderLibrary, Library, library_settings
from index.scorer import Scorer, load_scorer
from index.settings import IndexSettings
from index.store import IndexData
from index.units import UNIT_KINDS
from index.vector_index import build_vector_index

if TYPE_CHECKING:
    from threadpoolctl import ThreadpoolController

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 500
EMPTY_QUESTION = "Please ask a question about the article."
SHORTENED_QUESTION = f"Your question was shortened to its first {MAX_QUESTION_CHARS} characters."

UNIT_SCORES_PER_GROUP = 1 << 17  # at most about this many question × unit cosines in one product

_WHITESPACE = re.compile(r"\s+")


def normalize_question(raw: str) -> tuple[str, str | None]:
    """Collapse whitespace, drop control and invisible characters, cap the length.

    Returns the question and a notice for the asker (or None).
    """
    # printable text has none of those characters: skip the loop over every character
    text = raw
    if not raw.isprintable():
        text = "".join(
            " " if unicodedata.category(ch) in {"Cc", "Zl", "Zp"} else ch
            for ch in raw
            if unicodedata.category(ch) != "Cf"
        )
    text = _WHITESPACE.sub(" ", text).strip()
    if len(text) <= MAX_QUESTION_CHARS:
        return text, None
    cut = text[:MAX_QUESTION_CHARS]
    cut = cut.rsplit(" ", 1)[0] if " " in cut[MAX_QUESTION_CHARS // 2 :] else cut
    return cut, SHORTENED_QUESTION


@cache
def _blas_libraries() -> ThreadpoolController:
    """The BLAS libraries loaded in this process. Scoring multiplies small matrices, on one thread:
    a second OpenBLAS thread saves little there, then spins idle for about 0.1 s, taking a core from
    the model's next batch (measured: the next embedding about a third slower)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


class UnknownArticle(LookupError):
    """A question was asked of an article the index doesn't hold (removed, or never added)."""

    def __init__(self, article: str) -> None:
        super().__init__(f"no article {article!r} in the index")
        self.article = article


class Found(NamedTuple):
    """One question's answer as the search found it: confidence, hits, and the probability that the
    first hit answers it (the scorer's, calibrated)."""

    confidence: Confidence
    hits: list[Hit]
    correct: float


NOTHING = Found("none", [], 0.0)


class Examined(NamedTuple):
    """One question's candidates, unscored: what the scorer ranks and what index.fitting fits on."""

    passages: np.ndarray  # their numbers in the index
    features: np.ndarray  # a row of CANDIDATE_FEATURES each
    key_rows: np.ndarray  # the unit row of each one's key sentence for the question


def passages_by_article(data: IndexData) -> dict[str, np.ndarray]:
    """Each article's passage numbers. A build writes each article's passages together, in the
    manifest's order, and records how many: ranges from those counts, without reading a passage
    (an index loads its passages lazily; reading 5,000 of them took 32 ms of a 0.4 s start). An
    index whose manifest can't say is grouped by reading every passage's source."""
    counts = [article.get("passages") for article in data.manifest.articles]
    sources = [article.get("source") for article in data.manifest.articles]
    if (
        all(isinstance(count, int) and count >= 0 for count in counts)
        and sum(counts) == len(data.passages)
        and len(set(sources)) == len(sources)
    ):
        bounds = np.cumsum([0, *counts])
        return {str(source): np.arange(bounds[n], bounds[n + 1]) for n, source in enumerate(sources)}
    names, owner = np.unique(np.array([p.source for p in data.passages], dtype=str), return_inverse=True)
    order = np.argsort(owner, kind="stable")
    edges = np.searchsorted(owner[order], np.arange(len(names) + 1))
    return {str(name): order[edges[n] : edges[n + 1]] for n, name in enumerate(names.tolist())}


class SearchIndex:
    """An `IndexData` made searchable: FAISS over its vectors, BM25 over its passages, and the
    per-passage facts the features need."""

    def __init__(self, data: IndexData) -> None:
        self.data = data
        self.vectors = data.vectors
        self.faiss = data.search_index if data.search_index is not None else build_vector_index(data.vectors)
        self.owners = data.units.passage
        self._aliases = LibraryAliases.from_manifest(data.manifest.aliases)
        self._bm25 = data.lexical if data.lexical is not None else lexical_index(data.passages, self._aliases)
        # Per passage, the rows of its units in order (the passage's own vector first).
        # Passage p's rows: _unit_rows[_first[p] : _first[p + 1]].
        self._unit_rows = np.argsort(self.owners, kind="stable")
        self._first = np.searchsorted(self.owners[self._unit_rows], np.arange(len(data.passages) + 1))
        self.unit_counts = np.diff(self._first)
        self.is_clause = data.units.kind == UNIT_KINDS.index("clause")
        is_sentence = data.units.kind == UNIT_KINDS.index("sentence")
        # A key unit may be shown in bold: a sentence, or a passage's own vector when it has no
        # sentence units (a one-sentence passage).
        has_sentences = np.bincount(self.owners[is_sentence], minlength=len(data.passages)) > 0
        is_own = np.zeros(len(self.owners), dtype=bool)
        is_own[self._unit_rows[self._first[:-1]]] = True
        self.is_key = is_sentence | (is_own & ~has_sentences[self.owners])
        # Each article's passage numbers (a mask per article would cost articles × passages at
        # every load; a scope builds one when asked).
        self._passages_of = passages_by_article(data)
        self.articles = tuple(
            ArticleInfo(source, article["title"], len(self._passages_of.get(source, ())))
            for article in data.manifest.articles
            if (source := article["source"])
        )

    @property
    def passage_count(self) -> int:
        return len(self.data.passages)

    def unit_rows(self, passage: int) -> np.ndarray:
        """The rows of all the passage's units, its own first."""
        return self._unit_rows[self._first[passage] : self._first[passage + 1]]

    def passage_text(self, passage: int) -> str:
        return self.data.passages[passage].text

    def lexical_scores(self, questions: Sequence[str], scope: np.ndarray | None = None) -> QueryScores:
        """BM25 of every passage (a row per question), the share of each question's terms some
        passage uses, and how many distinct terms each has; with `scope`, only its passages."""
        return self._bm25.score_queries(questions, scope)

    def scope(self, article: str | None) -> np.ndarray | None:
        """The passages of the article `article` (its source, the file name) as a bool per passage;
        None for every article. Raises `UnknownArticle` for an article the index doesn't hold."""
        if article is None:
            return None
        if article not in self._passages_of:
            raise UnknownArticle(article)
        scope = np.zeros(len(self.data.passages), dtype=bool)
        scope[self._passages_of[article]] = True
        return scope

    def examine(
        self, questions: Sequence[str], vectors: np.ndarray, scope: np.ndarray | None = None
    ) -> list[Examined]:
        """Per question (row i of `vectors` embeds question i), its candidates (inside `scope`, when
        given) and their features."""
        group = max(1, UNIT_SCORES_PER_GROUP // (2 * PER_SIGNAL * max(1, int(self.unit_counts.mean()))))
        examined = []
        with _blas_libraries().limit(limits=1, user_api="blas"):
            for first in range(0, len(questions), group):
                part = slice(first, first + group)
                found = gather(self, questions[part], vectors[part], scope)
                if not found.passages.size:  # nothing near in FAISS (an empty IVF list), no shared word
                    nothing = Examined(found.passages, np.zeros((0, len(CANDIDATE_FEATURES))), found.passages)
                    examined += [nothing] * len(found.mask)
                    continue
                features = candidate_features(found)
                for number, row in enumerate(found.mask):
                    columns = np.flatnonzero(row)
                    examined.append(
                        Examined(
                            found.passages[columns],
                            features[number, columns],
                            found.key_rows[number, columns],
                        )
                    )
        return examined

    def search_many(
        self,
        questions: Sequence[str],
        vectors: np.ndarray,
        k: int,
        scorer: Scorer,
        scope: np.ndarray | None = None,
    ) -> list[Found]:
        """Rank passages for each question (row i of `vectors` embeds question i): candidates (inside
        `scope`, when given), features, the scorer's ranking and confidence."""
        results: list[Found] = []
        for passages, features, key_rows in self.examine(questions, vectors, scope):
            if not len(passages):
                results.append(NOTHING)
                continue
            ranked = scorer.decide(features)
            if ranked.confidence == "none":
                results.append(Found("none", [], ranked.correct))
                continue
            hits = [
                Hit(
                    passage=self.data.passages[int(passages[position])],
                    score=float(score),
                    key_sentence=self.data.units[int(key_rows[position])].text,
                )
                for position, score in zip(
                    ranked.order[:k].tolist(), ranked.scores[:k].tolist(), strict=False
                )
            ]
            results.append(Found(ranked.confidence, hits, ranked.correct))
        return results


def readable_model(identity: str) -> str:
    """ "all-MiniLM-L6-v2@1a2b…+int8" → "all-MiniLM-L6-v2 (int8)": the identity without its fingerprint."""
    name, _, rest = identity.partition("@")
    variant = rest.partition("+")[2]
    return f"{name} ({variant})" if variant else name


@dataclass(frozen=True)
class ArticleInfo:
    """One article of the index being served: its source (the file name, which `ask` takes to ask
    it alone), its title and how many passages it has."""

    source: str
    title: str
    passages: int


@dataclass(frozen=True)
class IndexInfo:
    """What /about and the terminal banner tell about the index being served."""

    titles: tuple[str, ...]
    passages: int
    built_at: str
    model: str
    articles: tuple[ArticleInfo, ...] = ()


class ReindexRunning(Exception):
    """A reindex was asked for while another one is still running."""


class Retriever:
    """Answers questions from the index it holds; `reindex` rebuilds it from its library (ARTICLES_DIR
    unless given another) and swaps it in atomically."""

    def __init__(
        self,
        embedder: Embedder,
        data: IndexData,
        *,
        settings: IndexSettings | None = None,
        scorer: Scorer | None = None,
        library: Library | None = None,
    ) -> None:
        self.embedder = embedder
        self.settings = settings or IndexSettings()
        self.scorer = scorer or load_scorer()
        self.library = library or FolderLibrary(self.settings.articles_dir)
        self._index = SearchIndex(data)
        self._reindexing = threading.Lock()

    @property
    def reindexing(self) -> bool:
        """True while a reindex is running."""
        return self._reindexing.locked()

    def reindex(self) -> BuildStats:
        """Re-read the library (its files written first when it is the database's), rebuild (reusing
        unchanged embeddings), save, and serve the result.

        One at a time: raises `ReindexRunning` if another is under way. On failure the current index
        keeps serving and the error (e.g. `ArticleError`) propagates.
        """
        if not self._reindexing.acquire(blocking=False):
            raise ReindexRunning("a reindex is already running")
        try:
            build = library_settings(self.settings, self.library)
            data, stats = rebuild(build, self.embedder, self._index.data)
            self.swap(data)
            return stats
        finally:
            self._reindexing.release()

    @property
    def info(self) -> IndexInfo:
        index = self._index
        manifest = index.data.manifest
        return IndexInfo(
            titles=tuple(article["title"] for article in manifest.articles),
            passages=index.passage_count,
            built_at=manifest.built_at,
            model=readable_model(manifest.model),
            articles=index.articles,
        )

    @property
    def data(self) -> IndexData:
        return self._index.data

    def swap(self, data: IndexData) -> None:
        """Serve `data` from now on (questions in flight finish on the old index)."""
        self._index = SearchIndex(data)

    def ask(
        self, question: str, k: int = 3, article: str | None = None, after: Sequence[Turn] = ()
    ) -> Answer:
        """Answer one question with up to `k` passages, best first; from the article `article` (its
        source) alone when given, else from every article; as the next turn after the earlier
        turns `after` (oldest first), when given (`index.conversation`)."""
        return self.ask_many([question], k, article, [after])[0]

    def ask_many(
        self,
        questions: Sequence[str],
        k: int = 3,
        article: str | None = None,
        after: Sequence[Sequence[Turn]] | None = None,
    ) -> list[Answer]:
        """Answer several questions with one batched embedding call (from `article` alone, when
        given; each after its earlier turns `after[i]`, when given); raises `UnknownArticle`
        for an article the index doesn't hold."""
        index = self._index  # one snapshot for the whole batch
        scope = index.scope(article)
        answers: list[Answer] = []
        for question, notice, found, took_ms in self._search(index, questions, k, scope, after):
            if not question:
                answers.append(Answer(question="", confidence="none", hits=(), notice=EMPTY_QUESTION))
                continue
            answers.append(
                Answer(question, found.confidence, tuple(found.hits), took_ms=took_ms, notice=notice)
            )
        return answers

    def _search(
        self,
        index: SearchIndex,
        questions: Sequence[str],
        k: int,
        scope: np.ndarray | None,
        after: Sequence[Sequence[Turn]] | None = None,
    ):
        """Per question: its normalised text, a notice, what was found and the milliseconds its
        share of the batch took. A follow-up is also asked in its context, in the same embedding
        call, and the answer chosen from both (`index.conversation`)."""
        started = time.perf_counter()
        normalized = [normalize_question(q) for q in questions]
        earlier = list(after) if after is not None else [()] * len(questions)
        asked = [text for text, _ in normalized if text]
        contexts = [earlier[n] for n, (text, _) in enumerate(normalized) if text]
        results = iter(())
        if asked:
            variants = [in_context(text, before) for text, before in zip(asked, contexts, strict=True)]
            extra = [variant for variant in variants if variant is not None]
            vectors = self.embedder.embed([*asked, *extra])
            depth = max(1, k, SHOWN_WITHIN if extra else 0)
            found = index.search_many([*asked, *extra], vectors, depth, self.scorer, scope)
            alone, with_context = iter(found[: len(asked)]), iter(found[len(asked) :])
            results = iter(
                in_turn(
                    next(alone),
                    next(with_context) if variant is not None else None,
                    before[-1].shown if before else None,
                    max(1, k),
                )
                for variant, before in zip(variants, contexts, strict=True)
            )
        took_ms = (time.perf_counter() - started) * 1000 / max(1, len(questions))
        for text, notice in normalized:
            yield text, notice, (next(results) if text else NOTHING), took_ms
