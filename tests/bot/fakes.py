"""Deterministic index values and a fake retriever, so the bot's tests never load the model."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from index.answer import Answer, Confidence, Hit
from index.build import BuildStats
from index.conversation import Turn
from index.passages import Passage
from index.retriever import ArticleInfo, IndexInfo, ReindexRunning

TITLE = "Philadelphia To Stop Giving ICE Real-Time Arrest Data"
ARTICLES = (
    ArticleInfo("philadelphia-ice.txt", TITLE, 17),
    ArticleInfo("aquarium.md", "Springfield Opens Its New Aquarium", 3),
)
BODY = (
    "Philadelphia will stop giving federal immigration authorities real-time access to arrest data. "
    "The city's contract with ICE expires Aug. 31, Mayor Jim Kenney said Friday. "
    "Advocates had pushed for the change for months."
)
KEY = "The city's contract with ICE expires Aug. 31, Mayor Jim Kenney said Friday."


def passage(text: str = BODY, *, paragraph: int = 3, article: str = TITLE) -> Passage:
    return Passage(text=text, article=article, source="article.txt", paragraph=paragraph)


def hit(text: str = BODY, key: str = KEY, *, paragraph: int = 3, article: str = TITLE) -> Hit:
    return Hit(passage=passage(text, paragraph=paragraph, article=article), score=1.0, key_sentence=key)


def answer(
    question: str = "When does the contract expire?",
    *,
    confidence: Confidence = "high",
    hits: Sequence[Hit] | None = None,
    notice: str | None = None,
) -> Answer:
    if hits is None:
        hits = [hit(paragraph=3), hit(paragraph=4), hit(paragraph=5)] if confidence != "none" else []
    return Answer(question=question, confidence=confidence, hits=tuple(hits), took_ms=12.0, notice=notice)


def stats(**changes: object) -> BuildStats:
    values: dict[str, object] = {
        "articles": 1,
        "passages": 42,
        "vectors": 120,
        "embedded": 3,
        "reused": 117,
        "seconds": 1.25,
        "warnings": (),
    }
    values.update(changes)
    return BuildStats(**values)  # type: ignore[arg-type]


class FakeRetriever:
    """Answers every question from its current "generation" of index; `reindex` can be held open
    (`hold_reindex`) to test what happens while one runs, or made to fail (`reindex_error`)."""

    def __init__(self, generation: str = "old") -> None:
        self.generation = generation
        self.asked: list[str] = []
        self.articles: list[str | None] = []  # the article each question was asked of (None: all)
        self.afters: list[list[str]] = []  # each question's earlier questions (its conversation)
        self.library = None  # not the database's: nothing for the bot to watch
        self.shown: list[list[Passage | None]] = []  # and the passages those answers showed first
        self.reindex_started = threading.Event()
        self.reindex_release = threading.Event()
        self.reindex_release.set()
        self.reindex_error: Exception | None = None
        self.ask_delay = threading.Event()
        self.ask_delay.set()
        self._reindexing = threading.Lock()

    def hold_reindex(self) -> None:
        """Make the next reindex block until `reindex_release` is set."""
        self.reindex_release.clear()

    @property
    def reindexing(self) -> bool:
        return self._reindexing.locked()

    @property
    def info(self) -> IndexInfo:
        return IndexInfo(
            titles=tuple(article.title for article in ARTICLES),
            passages=42,
            built_at="2026-11-28T10:20:32+00:00",
            model="all-MiniLM-L6-v2@abc",
            articles=ARTICLES,
        )

    def ask(
        self, question: str, k: int = 3, article: str | None = None, after: Sequence[Turn] = ()
    ) -> Answer:
        return self.ask_many([question], k, article, [after])[0]

    def ask_many(
        self,
        questions: Sequence[str],
        k: int = 3,
        article: str | None = None,
        after: Sequence[Sequence[Turn]] | None = None,
    ) -> list[Answer]:
        self.ask_delay.wait(5)
        self.asked.extend(questions)
        self.articles.extend([article] * len(questions))
        # each question's earlier questions; the passages they showed are in `shown`
        for turns in after or [()] * len(questions):
            self.afters.append([turn.question for turn in turns])
            self.shown.append([turn.shown for turn in turns])
        return [answer(question, hits=[hit(key=self.generation)] * k) for question in questions]

    def reindex(self) -> BuildStats:
        if not self._reindexing.acquire(blocking=False):
            raise ReindexRunning("a reindex is already running")
        try:
            self.reindex_started.set()
            if not self.reindex_release.wait(5):
                raise TimeoutError("the test never released the reindex")
            if self.reindex_error is not None:
                raise self.reindex_error
            self.generation = "new"
            return stats()
        finally:
            self._reindexing.release()
