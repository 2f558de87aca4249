"""What a question gets back: ranked passages and how sure the retriever is that they answer it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from index.passages import Passage

Confidence = Literal["high", "low", "none"]


@dataclass(frozen=True)
class Hit:
    """One passage returned for a question; `key_sentence` is the sentence of it that matched best."""

    passage: Passage
    score: float
    key_sentence: str

    def to_json(self) -> dict[str, Any]:
        """The passage as the `ask --json` contract spells it."""
        return {
            "text": self.passage.text,
            "score": round(float(self.score), 4),
            "article": self.passage.article,
            "paragraph": self.passage.paragraph,
            "url": self.passage.url,  # the article's web page, None when its file names none
        }


@dataclass(frozen=True)
class Answer:
    """The answer to one question.

    `confidence` is "high" (the first passage answers it), "low" (the closest passages, which may not
    answer it) or "none" (the articles don't cover it; `hits` is empty). `notice` tells the asker
    something about their question itself, e.g. that it was empty or shortened. `took_ms` is the time
    spent answering it (answered in a batch: the batch's time shared out among its questions).
    """

    question: str
    confidence: Confidence
    hits: tuple[Hit, ...]
    took_ms: float = 0.0
    notice: str | None = None

    def to_json(self) -> dict[str, Any]:
        """One line of `ask --json` output."""
        return {
            "question": self.question,
            "confidence": self.confidence,
            "passages": [hit.to_json() for hit in self.hits],
            "took_ms": round(self.took_ms, 2),
        }
