"""Retrieval quality on question sets (format: data/benchmark/README.md).

A returned passage is correct when it contains one of the question's evidence strings, compared
case-insensitively with whitespace collapsed. Each question's `Outcome` is kept, so the metrics of
several sets, articles or folds pool by adding outcomes, never by averaging averages.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from index.answer import Answer, Confidence

_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class EvalQuestion:
    """One line of an evaluation file."""

    question: str
    answerable: bool
    evidence: tuple[str, ...] = ()
    near_topic: bool = False

    @property
    def kind(self) -> str:
        """ "answerable", "near-topic" or "off-topic"."""
        return "answerable" if self.answerable else "near-topic" if self.near_topic else "off-topic"


@dataclass(frozen=True)
class Outcome:
    """How one question was answered: its confidence and the rank (1–3) of the first correct passage."""

    question: EvalQuestion
    confidence: Confidence
    rank: int | None  # None: no correct passage in the first three (or an unanswerable question)

    @property
    def first_correct(self) -> bool:
        return self.rank == 1 and self.confidence != "none"


@dataclass(frozen=True)
class EvalReport:
    """The metrics of data/benchmark/README.md over some outcomes, and the questions that missed."""

    outcomes: tuple[Outcome, ...]

    @classmethod
    def of(cls, outcomes: Iterable[Outcome]) -> EvalReport:
        return cls(tuple(outcomes))

    def _of_kind(self, kind: str) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.question.kind == kind]

    @property
    def answerable(self) -> int:
        return len(self._of_kind("answerable"))

    @property
    def off_topic(self) -> int:
        return len(self._of_kind("off-topic"))

    @property
    def near_topic(self) -> int:
        return len(self._of_kind("near-topic"))

    def _share(self, kind: str, test) -> float:
        chosen = self._of_kind(kind)
        return sum(map(test, chosen)) / len(chosen) if chosen else float("nan")

    @property
    def recall_at_1(self) -> float:
        return self._share("answerable", lambda o: o.first_correct)

    @property
    def recall_at_3(self) -> float:
        return self._share("answerable", lambda o: o.rank is not None and o.confidence != "none")

    @property
    def mrr_at_3(self) -> float:
        return self._share("answerable", lambda o: 1 / o.rank if o.rank and o.confidence != "none" else 0.0)

    @property
    def false_abstention(self) -> float:
        return self._share("answerable", lambda o: o.confidence == "none")

    @property
    def off_topic_abstention(self) -> float:
        return self._share("off-topic", lambda o: o.confidence == "none")

    @property
    def near_topic_not_high(self) -> float:
        return self._share("near-topic", lambda o: o.confidence != "high")

    @property
    def near_topic_high(self) -> int:
        return sum(o.confidence == "high" for o in self._of_kind("near-topic"))

    @property
    def high_answers(self) -> int:
        """Answers of any question called "high"."""
        return sum(o.confidence == "high" for o in self.outcomes)

    @property
    def high_correct(self) -> int:
        """… of which the first passage is correct."""
        return sum(o.confidence == "high" and o.first_correct for o in self.outcomes)

    @property
    def high_precision(self) -> float:
        return self.high_correct / self.high_answers if self.high_answers else float("nan")

    @property
    def high_recall(self) -> float:
        """Of the answerable questions whose first passage is correct, the share called "high"."""
        right = [o for o in self._of_kind("answerable") if o.first_correct]
        return sum(o.confidence == "high" for o in right) / len(right) if right else float("nan")

    @property
    def misses(self) -> tuple[str, ...]:
        lines = []
        for o in self.outcomes:
            q = o.question
            if q.answerable and o.confidence == "none":
                lines.append(f"abstained: {q.question}")
            elif q.answerable and o.rank != 1:
                lines.append(f"rank {o.rank or '>3'} ({o.confidence}): {q.question}")
            elif q.kind == "near-topic" and o.confidence == "high":
                lines.append(f"near-topic answered high: {q.question}")
            elif q.kind == "off-topic" and o.confidence != "none":
                lines.append(f"off-topic answered {o.confidence}: {q.question}")
        return tuple(lines)

    def metrics(self) -> dict[str, float | int]:
        """Every metric by name (NaN where a set has no question of the kind it needs)."""
        return {
            "answerable": self.answerable,
            "off_topic": self.off_topic,
            "near_topic": self.near_topic,
            "recall_at_1": self.recall_at_1,
            "recall_at_3": self.recall_at_3,
            "mrr_at_3": self.mrr_at_3,
            "off_topic_none": self.off_topic_abstention,
            "near_topic_not_high": self.near_topic_not_high,
            "high_precision": self.high_precision,
            "high_recall": self.high_recall,
            "false_abstention": self.false_abstention,
        }

    def table(self) -> str:
        """The metrics as aligned text lines."""
        rows = [
            ("Recall@1", f"{self.recall_at_1:.3f}"),
            ("Recall@3", f"{self.recall_at_3:.3f}"),
            ("MRR@3", f"{self.mrr_at_3:.3f}"),
            ("off-topic abstention", f"{self.off_topic_abstention:.3f} ({self.off_topic} questions)"),
            ("false abstention", f"{self.false_abstention:.3f} ({self.answerable} questions)"),
            ("near-topic not high", f"{self.near_topic_not_high:.3f} ({self.near_topic} questions)"),
            ("high precision", f"{self.high_precision:.3f} ({self.high_correct} of {self.high_answers})"),
            ("high recall", f"{self.high_recall:.3f}"),
        ]
        return "\n".join(f"{name:<26}{value}" for name, value in rows)


COLUMNS = (
    ("R@1", "recall_at_1"),
    ("R@3", "recall_at_3"),
    ("MRR@3", "mrr_at_3"),
    ("off→none", "off_topic_none"),
    ("near¬high", "near_topic_not_high"),
    ("high P", "high_precision"),
    ("high R", "high_recall"),
    ("false abst.", "false_abstention"),
)


def report_table(rows: Sequence[tuple[str, EvalReport]]) -> str:
    """Several reports as one aligned table, a row each (blank where a metric has no questions)."""
    width = max([len(name) for name, _ in rows] + [8])
    header = f"{'set':<{width}}  {'ans':>4} {'off':>4} {'near':>4}  " + " ".join(
        f"{title:>11}" for title, _ in COLUMNS
    )
    lines = [header, "-" * len(header)]
    for name, report in rows:
        values = report.metrics()
        cells = " ".join(
            f"{'':>11}" if values[key] != values[key] else f"{values[key]:>11.3f}" for _, key in COLUMNS
        )
        lines.append(
            f"{name:<{width}}  {report.answerable:>4} {report.off_topic:>4} {report.near_topic:>4}  {cells}"
        )
    return "\n".join(lines)


def load_questions(path: Path) -> list[EvalQuestion]:
    """Parse an evaluation JSONL file; raises ValueError naming the bad line, or an empty file."""
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
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"{path}:{number}: not an evaluation question ({error})") from error
        if questions[-1].answerable and not questions[-1].evidence:
            raise ValueError(f"{path}:{number}: an answerable question without evidence")
    if not questions:
        raise ValueError(f"{path}: no questions in it")
    return questions


def _normalize(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip().lower()


def is_correct(text: str, evidence: Sequence[str]) -> bool:
    """True when `text` contains one of the evidence strings."""
    haystack = _normalize(text)
    return any(_normalize(item) in haystack for item in evidence)


def outcome(question: EvalQuestion, answer: Answer) -> Outcome:
    """How `answer` did on `question`."""
    rank = None
    if question.answerable:
        rank = next(
            (
                n
                for n, hit in enumerate(answer.hits[:3], 1)
                if is_correct(hit.passage.text, question.evidence)
            ),
            None,
        )
    return Outcome(question, answer.confidence, rank)


def score(questions: Sequence[EvalQuestion], answers: Sequence[Answer]) -> EvalReport:
    """The metrics of answers given to `questions` (same order)."""
    return EvalReport.of(outcome(q, a) for q, a in zip(questions, answers, strict=True))
