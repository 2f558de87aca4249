"""Retrieval quality on a JSONL question set (format: tests/data/README or shared eval README).

A returned passage is correct when it contains one of the question's evidence strings, compared
case-insensitively with whitespace collapsed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from index.answer import Answer

_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class EvalQuestion:
    """One line of an evaluation file."""

    question: str
    answerable: bool
    evidence: tuple[str, ...] = ()
    near_topic: bool = False


@dataclass(frozen=True)
class EvalReport:
    """The metrics of shared/eval/README.md, and the questions that missed."""

    recall_at_1: float
    recall_at_3: float
    mrr_at_3: float
    off_topic_abstention: float
    false_abstention: float
    near_topic_high: int
    answerable: int
    off_topic: int
    near_topic: int
    misses: tuple[str, ...] = field(default=())
    high_answers: int = 0  # answerable questions answered with confidence "high"
    high_correct: int = 0  # … of which the first passage is correct

    def table(self) -> str:
        """The metrics as aligned text lines."""
        rows = [
            ("Recall@1", f"{self.recall_at_1:.3f}"),
            ("Recall@3", f"{self.recall_at_3:.3f}"),
            ("MRR@3", f"{self.mrr_at_3:.3f}"),
            ("off-topic abstention", f"{self.off_topic_abstention:.3f} ({self.off_topic} questions)"),
            ("false abstention", f"{self.false_abstention:.3f} ({self.answerable} questions)"),
            ("near-topic answered high", f"{self.near_topic_high} of {self.near_topic}"),
            ("high answers correct", f"{self.high_correct} of {self.high_answers}"),
        ]
        return "\n".join(f"{name:<26}{value}" for name, value in rows)


def load_questions(path: Path) -> list[EvalQuestion]:
    """Parse an evaluation JSONL file; raises ValueError naming the bad line."""
    questions: list[EvalQuestion] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            questions.append(
                EvalQuestion(
                    question=str(row["question"]),
                    answerable=bool(row["answerable"]),
                    evidence=tuple(row.get("evidence", ())),
                    near_topic=bool(row.get("near_topic", False)),
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise ValueError(f"{path}:{number}: not an evaluation question ({error})") from error
    return questions


def _normalize(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip().lower()


def is_correct(text: str, evidence: Sequence[str]) -> bool:
    """True when `text` contains one of the evidence strings."""
    haystack = _normalize(text)
    return any(_normalize(item) in haystack for item in evidence)


def score(questions: Sequence[EvalQuestion], answers: Sequence[Answer]) -> EvalReport:
    """Compute the metrics for answers given to `questions` (same order)."""
    r1 = r3 = mrr = false_none = off_none = near_high = 0.0
    high_answers = high_correct = 0
    answerable = off_topic = near_topic = 0
    misses: list[str] = []
    for item, answer in zip(questions, answers, strict=True):
        if item.answerable:
            answerable += 1
            if answer.confidence == "none":
                false_none += 1
                misses.append(f"abstained: {item.question}")
                continue
            ranks = [
                i for i, hit in enumerate(answer.hits[:3]) if is_correct(hit.passage.text, item.evidence)
            ]
            if answer.confidence == "high":
                high_answers += 1
                high_correct += bool(ranks) and ranks[0] == 0
            if ranks:
                r1 += ranks[0] == 0
                r3 += 1
                mrr += 1 / (ranks[0] + 1)
            if not ranks or ranks[0] > 0:
                misses.append(f"rank {ranks[0] + 1 if ranks else '>3'}: {item.question}")
        elif item.near_topic:
            near_topic += 1
            if answer.confidence == "high":
                near_high += 1
                misses.append(f"near-topic answered high: {item.question}")
        else:
            off_topic += 1
            if answer.confidence == "none":
                off_none += 1
            else:
                misses.append(f"off-topic answered {answer.confidence}: {item.question}")
    return EvalReport(
        recall_at_1=r1 / answerable if answerable else 0.0,
        recall_at_3=r3 / answerable if answerable else 0.0,
        mrr_at_3=mrr / answerable if answerable else 0.0,
        off_topic_abstention=off_none / off_topic if off_topic else 0.0,
        false_abstention=false_none / answerable if answerable else 0.0,
        near_topic_high=int(near_high),
        answerable=answerable,
        off_topic=off_topic,
        near_topic=near_topic,
        misses=tuple(misses),
        high_answers=high_answers,
        high_correct=high_correct,
    )
