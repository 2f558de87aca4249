"""Questions in, `Answer`s out: hybrid search (dense FAISS + BM25) over an in-memory index.

The index a `Retriever` serves is an immutable `SearchIndex`; a reindex builds a new one and swaps
the reference, so questions asked meanwhile are answered from the old one, never a half-built one.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cache, cached_property
from typing import TYPE_CHECKING

import numpy as np

from index.aliases import Aliases, NameMatcher, expand_acronyms
from index.answer import Answer, Confidence, Hit
from index.build import BuildStats, lexical_index, rebuild
from index.embedding import Embedder
from index.lexical import WORD, tokenize
from index.settings import IndexSettings
from index.store import IndexData
from index.token_match import TokenMatcher
from index.units import UNIT_KINDS
from index.vector_index import build_vector_index, nearest_rows

if TYPE_CHECKING:
    from threadpoolctl import ThreadpoolController

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 500
EMPTY_QUESTION = "Please ask a question about the article."
SHORTENED_QUESTION = f"Your question was shortened to its first {MAX_QUESTION_CHARS} characters."

# Calibrated on the dev set with all-MiniLM-L6-v2 (docs/retrieval.md). "none": no passage or sentence
# reaches this cosine (off-topic questions scored ≤ 0.12, answerable ones ≥ 0.24: the midpoint).
NONE_BELOW = 0.18
# "high": the first passage is close (cosine) and clearly ahead of the second (fused z-score gap);
# a near-topic question the article doesn't answer tends to match several passages about equally.
HIGH_FROM = 0.55
HIGH_MARGIN = 0.5
# Weight of BM25's z-score against the dense z-score, scaled by the square of the share of the
# question's words the articles use at all: a paraphrase sharing few words gets little lexical say.
LEXICAL_WEIGHT = 0.5
# Weight of the soft word match (index.token_match), scaled by the share of the question's words the
# articles do NOT use: it speaks where BM25 can't.
TOKEN_WEIGHT = 0.3
SOFT_CANDIDATES = 32  # passages the soft word match re-scores per question
DENSE_CANDIDATES = 256  # vectors fetched from FAISS per question
LEXICAL_CANDIDATES = 64  # passages taken from BM25 per question
# The articles' topic, for the off-topic probe (SearchIndex.topic_probe): the words of their titles
# and the words at least this share of the passages use.
TOPIC_SHARE = 0.2
TOPIC_MIN_PASSAGES = 3  # and at least this many: in a five-paragraph story one passage is 20%
PROBE_MIN_PASSAGES = 8  # below this many passages there is too little text to tell a topic: no probe
# A question is probed when fewer than this share of its other content words occur in any passage.
PROBE_SEEN_SHARE = 0.5
# A question using this many of the titles' words that are not names restates the headline ("what kind
# of people has ICE been arresting using the data"): it is about the story and is not probed. One such
# word is not enough: titles are made of everyday words too ("stop", "real", "time").
HEADLINE_WORDS_ASKED = 2
# The probe's floor, below NONE_BELOW: a probe is a fragment of a question, and calling an answerable
# question "not covered" is worse than calling an off-topic one "low". Off-topic probes scored ≤ 0.12
# on dev, answerable ones ≥ 0.177 over the question sets in tests/data (docs/retrieval.md).
PROBE_NONE_BELOW = 0.15
UNIT_SCORES_PER_GROUP = 1 << 16  # at most this many question × unit cosines in one batched product

_WHITESPACE = re.compile(r"\s+")
_TITLE_WORD = re.compile(r"[\w'’]+(?:-[\w'’]+)*")  # a hyphenated word is one word of a title


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


def _zscores(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per row, the z-scores of the entries `mask` selects (0 elsewhere, and where they don't vary).

    In float64: with float32 sums, equal values (say, 200 candidates with the same BM25 score) came
    out spread by rounding, as z-scores of ±1 whose signs depended on the summation order.
    """
    picked = np.where(mask, values, 0).astype(np.float64)
    count = np.maximum(mask.sum(axis=1, keepdims=True), 1)
    mean = picked.sum(axis=1, keepdims=True) / count
    deviation = np.where(mask, picked - mean, 0)
    spread = np.sqrt((deviation**2).sum(axis=1, keepdims=True) / count)
    return np.divide(deviation, spread, out=np.zeros_like(deviation), where=spread > 1e-9)


def _ranking(fused: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per row, the columns `mask` selects, best fused score first (ties in column order), then the rest."""
    return np.argsort(np.where(mask, -fused, np.inf), axis=1, kind="stable")


def confidence_for(best_cosine: float, first_cosine: float, margin: float) -> Confidence:
    """How sure we are: from the best cosine of any candidate, the cosine of the passage ranked
    first, and how far ahead of the second that passage is."""
    if best_cosine < NONE_BELOW:
        return "none"
    return "high" if first_cosine >= HIGH_FROM and margin >= HIGH_MARGIN else "low"


@cache
def _blas_libraries() -> ThreadpoolController:
    """The BLAS libraries loaded in this process. Scoring multiplies small matrices, on one thread:
    a second OpenBLAS thread saves little there, then spins idle for about 0.1 s, taking a core from
    the model's next batch (measured: the next embedding about a third slower)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


class SearchIndex:
    """An `IndexData` made searchable: FAISS over its vectors, BM25 over its passages."""

    def __init__(self, data: IndexData) -> None:
        self.data = data
        self._faiss = data.search_index if data.search_index is not None else build_vector_index(data.vectors)
        self._owners = data.units.passage
        self._aliases = Aliases(**data.manifest.aliases)
        self._bm25 = data.lexical if data.lexical is not None else lexical_index(data.passages, self._aliases)
        # Per passage, the rows of its units in order (the passage's own vector first): all of them
        # rank it; passage and sentence vectors (not clauses, whose short texts score higher against
        # anything) calibrate the confidence; sentences (or the passage, if it is one sentence) pick
        # the key sentence shown in bold. Passage p's rows: _unit_rows[_first[p] : _first[p + 1]].
        self._unit_rows = np.argsort(self._owners, kind="stable")
        self._first = np.searchsorted(self._owners[self._unit_rows], np.arange(len(data.passages) + 1))
        self._is_clause = data.units.kind == UNIT_KINDS.index("clause")
        self._is_sentence = data.units.kind == UNIT_KINDS.index("sentence")
        self._rank_sizes = np.diff(self._first)  # units per passage

    @property
    def passage_count(self) -> int:
        return len(self.data.passages)

    @cached_property
    def _names(self) -> NameMatcher:
        def known(word: str) -> bool:
            return any(self._bm25.document_frequency(term) for term in tokenize(word))

        return NameMatcher(self._aliases.names, known)

    def question_text(self, question: str) -> str:
        """The question as the model should read it: acronyms spelled out, clipped names in full."""
        return expand_acronyms(self._names.expand(question), self._aliases.acronyms)

    def _lexical_text(self, text: str) -> str:
        """A question as BM25 should count it: a spelled-out name also counts as its acronym, a
        clipped name as the full one."""
        return expand_acronyms(self._names.expand(text), self._aliases.acronyms, spell_out=False)

    @cached_property
    def _topic_terms(self) -> frozenset[str]:
        """What the articles are about, as BM25 terms: their titles' words and the words at least
        TOPIC_SHARE of the passages use ("philadelphia", "ice", "city", "mayor" here)."""
        titles = " ".join(article["title"] for article in self.data.manifest.articles)
        return frozenset(tokenize(titles)) | self._bm25.common_terms(TOPIC_SHARE, at_least=TOPIC_MIN_PASSAGES)

    def topic_probe(self, question: str) -> str | None:
        """The question without its topic words ("Who founded the city of Philadelphia?" → "Who
        founded the of"), when it names the topic and its other words are ones no passage uses: such
        a question may match only by naming the topic, so the rest must be relevant on its own
        (`relevance` of its embedding ≥ PROBE_NONE_BELOW). None when there is nothing to probe: no topic
        word, no other content word, or a passage uses one of them (that is evidence of its own)."""
        if self.passage_count < PROBE_MIN_PASSAGES:
            return None
        words = WORD.findall(question)
        asked = {term for word in words for term in tokenize(word)}
        if sum(bool(headline & asked) for headline in self._headline_words) >= HEADLINE_WORDS_ASKED:
            return None  # it restates the headline: a question about the story, not only about whom it names
        rest = [word for word in words if not self._is_topic(word)]
        terms = [term for word in rest for term in tokenize(word)]
        if len(rest) == len(words) or not terms:
            return None
        if sum(self._bm25.document_frequency(term) > 0 for term in terms) >= PROBE_SEEN_SHARE * len(terms):
            return None
        return " ".join(rest)

    @cached_property
    def _headline_words(self) -> tuple[frozenset[str], ...]:
        """The titles' words that are not names, each as its terms ("Real-Time" is one word of two
        terms): "stop", "giving", "real-time", "arrest", "data" here, not "Philadelphia" or "ICE"."""
        titles = [article["title"] for article in self.data.manifest.articles]
        names = [*self._aliases.names.values(), *self._aliases.acronyms]
        capitals = [word for title in titles for word in WORD.findall(title) if word.isupper()]
        names += [word for word in capitals if len(word) > 1]  # an acronym in a title-case title
        name_terms = frozenset(tokenize(" ".join(names)))
        words = {frozenset(tokenize(word)) for title in titles for word in _TITLE_WORD.findall(title)}
        return tuple(terms for word in words if (terms := word - name_terms))

    def _is_topic(self, word: str) -> bool:
        """Whether `word` names the topic, also as a clipped name ("philly" for Philadelphia)."""
        if set(tokenize(word)) & self._topic_terms:
            return True
        name = self._names.full_name(word)
        return name is not None and bool(set(tokenize(name)) & self._topic_terms)

    def relevance(self, vectors: np.ndarray) -> np.ndarray:
        """Per row of `vectors`, the best cosine to any passage or sentence (what NONE_BELOW is
        calibrated on), from one FAISS search; -1 where nothing is near."""
        nearest = nearest_rows(self._faiss, vectors, min(DENSE_CANDIDATES, self._faiss.ntotal))
        best = np.full(len(vectors), -1.0)
        with _blas_libraries().limit(limits=1, user_api="blas"):
            for number, rows in enumerate(nearest):
                rows = rows[rows >= 0]
                rows = rows[~self._is_clause[rows]]
                if rows.size:
                    best[number] = float((self.data.vectors[rows] @ vectors[number]).max())
        return best

    def search(
        self, question: str, vector: np.ndarray, k: int, matcher: TokenMatcher | None = None
    ) -> tuple[Confidence, list[Hit]]:
        """Rank passages for one question whose embedding is `vector` (and, with a `matcher`, by soft
        word matching too)."""
        return self.search_many([question], vector.reshape(1, -1), k, matcher)[0]

    def search_many(
        self,
        questions: Sequence[str],
        vectors: np.ndarray,
        k: int,
        matcher: TokenMatcher | None = None,
    ) -> list[tuple[Confidence, list[Hit]]]:
        """`search` for each question (row i of `vectors` embeds question i), all of them scored
        together: a few matrix operations for the whole batch instead of dozens per question."""
        fetch = min(DENSE_CANDIDATES, self._faiss.ntotal)
        nearest = nearest_rows(self._faiss, vectors, fetch)
        lexical, coverage = self._bm25.score_queries([self._lexical_text(q) for q in questions])
        candidates = np.zeros(lexical.shape, dtype=bool)  # questions × passages
        asked, found = np.nonzero(nearest >= 0)
        candidates[asked, self._owners[nearest[asked, found]]] = True
        top_lexical = np.argsort(-lexical, axis=1)[:, :LEXICAL_CANDIDATES]
        shares_words = np.take_along_axis(lexical, top_lexical, axis=1) > 0
        candidates[np.nonzero(shares_words)[0], top_lexical[shares_words]] = True
        # Questions are scored against every candidate of their group, so a group is kept small
        # enough that the questions × candidate units product stays bounded on a large index.
        units = int(self._rank_sizes[candidates.any(axis=0)].sum())
        group = max(1, UNIT_SCORES_PER_GROUP // max(1, units))
        results: list[tuple[Confidence, list[Hit]]] = []
        with _blas_libraries().limit(limits=1, user_api="blas"):
            for first in range(0, len(questions), group):
                part = slice(first, first + group)
                results += self._rank(
                    questions[part],
                    vectors[part],
                    candidates[part],
                    lexical[part],
                    coverage[part],
                    k,
                    matcher,
                )
        return results

    def _rank(
        self,
        questions: Sequence[str],
        vectors: np.ndarray,
        candidates: np.ndarray,
        lexical: np.ndarray,
        coverage: np.ndarray,
        k: int,
        matcher: TokenMatcher | None,
    ) -> list[tuple[Confidence, list[Hit]]]:
        """Fuse the scores of each question's candidate passages (a row of `candidates`) and pick its
        top `k`."""
        passages = np.flatnonzero(candidates.any(axis=0))
        if passages.size == 0:  # nothing near in FAISS (e.g. an empty IVF list) and no shared word
            return [("none", []) for _ in questions]
        mask = candidates[:, passages]  # questions × the group's candidate passages
        counts = mask.sum(axis=1)
        # Per candidate passage: the best cosine of all its units ranks it; of its passage and
        # sentence units only (not clauses, whose short texts score higher against anything), calibrates.
        rows = np.concatenate([self._rank_rows(p) for p in passages])
        sizes = self._rank_sizes[passages]
        starts = np.cumsum(sizes) - sizes
        cosines = vectors @ self.data.vectors[rows].T  # questions × candidate units
        dense = np.maximum.reduceat(cosines, starts, axis=1)
        calibration = np.maximum.reduceat(np.where(self._is_clause[rows], -np.inf, cosines), starts, axis=1)
        lexical_weight = LEXICAL_WEIGHT * coverage**2
        fused = _zscores(dense, mask) + lexical_weight[:, None] * _zscores(lexical[:, passages], mask)
        if matcher is not None:
            # only the best-ranked candidates are re-scored: the soft match reorders the top
            top = _ranking(fused, mask)[:, :SOFT_CANDIDATES]
            asked = np.arange(len(questions))[:, None]
            in_top = mask[asked, top] & (counts > 1)[:, None]
            scored = np.unique(top[in_top])
            soft = np.zeros(fused.shape, dtype=np.float32)
            texts = [self.data.passages[p].text for p in passages[scored]]
            soft[:, scored] = matcher.score_table(questions, texts)
            weight = TOKEN_WEIGHT * (1 - coverage)
            fused[asked, top] += weight[:, None] * _zscores(soft[asked, top], in_top)
        order = _ranking(fused, mask)
        best_cosines = np.where(mask, calibration, -np.inf).max(axis=1).tolist()
        results: list[tuple[Confidence, list[Hit]]] = []
        for number, count in enumerate(counts.tolist()):
            if count == 0:
                results.append(("none", []))
                continue
            ranked = order[number, : max(2, k)].tolist()
            scores = fused[number]
            margin = float(scores[ranked[0]] - scores[ranked[1]]) if count > 1 else float("inf")
            first_cosine = float(calibration[number, ranked[0]])
            confidence = confidence_for(best_cosines[number], first_cosine, margin)
            if confidence == "none":
                results.append((confidence, []))
                continue
            hits = []
            for position in ranked[: min(k, count)]:
                passage = int(passages[position])
                # the key sentence: of the passage's key rows, the one closest to the question
                keys = starts[position] + self._key_offsets(passage)
                key_row = rows[keys[np.argmax(cosines[number, keys])]]
                hits.append(
                    Hit(
                        passage=self.data.passages[passage],
                        score=float(scores[position]),
                        key_sentence=self.data.units[key_row].text,
                    )
                )
            results.append((confidence, hits))
        return results

    def _rank_rows(self, passage: int) -> np.ndarray:
        """The rows of all the passage's units, its own first."""
        return self._unit_rows[self._first[passage] : self._first[passage + 1]]

    def _key_offsets(self, passage: int) -> np.ndarray:
        """Where the passage's key rows sit among its `_rank_rows`: its sentences, or the passage
        itself if it is one sentence."""
        sentences = np.flatnonzero(self._is_sentence[self._rank_rows(passage)])
        return sentences if sentences.size else np.zeros(1, dtype=np.int64)


def readable_model(identity: str) -> str:
    """ "all-MiniLM-L6-v2@1a2b…+int8" → "all-MiniLM-L6-v2 (int8)": the identity without its fingerprint."""
    name, _, rest = identity.partition("@")
    variant = rest.partition("+")[2]
    return f"{name} ({variant})" if variant else name


@dataclass(frozen=True)
class IndexInfo:
    """What /about and the terminal banner tell about the index being served."""

    titles: tuple[str, ...]
    passages: int
    built_at: str
    model: str


class ReindexRunning(Exception):
    """A reindex was asked for while another one is still running."""


class Retriever:
    """Answers questions from the index it holds; `reindex` rebuilds it and swaps it in atomically."""

    def __init__(
        self,
        embedder: Embedder,
        data: IndexData,
        *,
        settings: IndexSettings | None = None,
        matcher: Callable[[], TokenMatcher | None] | None = None,
    ) -> None:
        self.embedder = embedder
        self.settings = settings or IndexSettings()
        self._index = SearchIndex(data)
        self._reindexing = threading.Lock()
        # The soft word matcher is made at the first question (it memory-maps the model's table).
        self._make_matcher = matcher
        self._matcher: TokenMatcher | None = None
        self._matcher_lock = threading.Lock()

    def _token_matcher(self) -> TokenMatcher | None:
        if self._make_matcher is not None:
            with self._matcher_lock:
                if self._make_matcher is not None:
                    self._matcher = self._make_matcher()
                    self._make_matcher = None
        return self._matcher

    @property
    def reindexing(self) -> bool:
        """True while a reindex is running."""
        return self._reindexing.locked()

    def reindex(self) -> BuildStats:
        """Re-read ARTICLES_DIR, rebuild (reusing unchanged embeddings), save, and serve the result.

        One at a time: raises `ReindexRunning` if another is under way. On failure the current index
        keeps serving and the error (e.g. `ArticleError`) propagates.
        """
        if not self._reindexing.acquire(blocking=False):
            raise ReindexRunning("a reindex is already running")
        try:
            data, stats = rebuild(self.settings, self.embedder, self._index.data)
            self.swap(data)
            return stats
        finally:
            self._reindexing.release()

    @property
    def info(self) -> IndexInfo:
        manifest = self._index.data.manifest
        return IndexInfo(
            titles=tuple(article["title"] for article in manifest.articles),
            passages=self._index.passage_count,
            built_at=manifest.built_at,
            model=readable_model(manifest.model),
        )

    @property
    def data(self) -> IndexData:
        return self._index.data

    def swap(self, data: IndexData) -> None:
        """Serve `data` from now on (questions in flight finish on the old index)."""
        self._index = SearchIndex(data)

    def ask(self, question: str, k: int = 3) -> Answer:
        """Answer one question with up to `k` passages, best first."""
        return self.ask_many([question], k)[0]

    def ask_many(self, questions: Sequence[str], k: int = 3) -> list[Answer]:
        """Answer several questions with one batched embedding call."""
        started = time.perf_counter()
        index = self._index  # one snapshot for the whole batch
        normalized = [normalize_question(q) for q in questions]
        asked = [text for text, _ in normalized if text]
        results = iter(())
        if asked:
            vectors = self.embedder.embed([index.question_text(text) for text in asked])
            results = iter(index.search_many(asked, vectors, max(1, k), self._token_matcher()))
        answers: list[Answer] = []
        for text, notice in normalized:
            if not text:
                answers.append(Answer(question="", confidence="none", hits=(), notice=EMPTY_QUESTION))
                continue
            confidence, hits = next(results)
            answers.append(Answer(question=text, confidence=confidence, hits=tuple(hits), notice=notice))
        answers = self._probe_topic_only(index, answers)
        took_ms = (time.perf_counter() - started) * 1000 / max(1, len(questions))
        return [replace(answer, took_ms=took_ms) for answer in answers]

    def _probe_topic_only(self, index: SearchIndex, answers: list[Answer]) -> list[Answer]:
        """ "none" instead of "low" for the questions that match only by naming the articles' topic
        (see `SearchIndex.topic_probe`); their probes are embedded in one batch. A question whose
        first passage uses one of the probe's words is not probed: that word is evidence enough."""
        probes = {
            number: probe
            for number, answer in enumerate(answers)
            if answer.confidence == "low"
            and (probe := index.topic_probe(answer.question))
            and not set(tokenize(probe)) & set(tokenize(answer.hits[0].passage.text))
        }
        if not probes:
            return answers
        answers = list(answers)
        relevance = index.relevance(self.embedder.embed(list(probes.values())))
        for number, best in zip(probes, relevance.tolist(), strict=True):
            if best < PROBE_NONE_BELOW:
                answers[number] = replace(answers[number], confidence="none", hits=())
        return answers
