"""How follow-up questions should be asked (issue 15): each way of using the conversation, scored on
the blind follow-up set in data/benchmark/followups (its README says how it was written).

For every conversation the last question is asked of its own article's index (built here with the
real model, each article alone, as the benchmark does), and it counts as found at k when one of the
first k passages shown holds one of its evidence strings (an answer of "none" shows no passage).

Ways compared, for the last question Q after the earlier questions P1 (P2):
- alone: Q as it is;
- rewritten: the set's hand-written self-contained Q (follow-ups only: the reference);
- previous question: "P_last Q";
- all turns: "P1 P2 Q" (up to the last three questions);
- previous passage: Q followed by the passage that answered P_last (asked alone);
- weighted vectors: Q's vector plus half of P_last's, BM25 over "P_last Q";
- best of alone and previous question: whichever the scorer thinks more likely answered (its
  calibrated probability that the first passage answers), the context never forced on Q;
- gated ways: the same, only for questions that look like follow-ups (index.conversation);
- implemented: what the bot does (`Retriever.ask(after=…)`), each earlier turn answered first so the
  passage it showed is known.

    python -m bench.followups [data/benchmark/followups]
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index.conversation import Turn, looks_like_a_follow_up, turn_of
from index.retriever import Found, Retriever
from index.settings import PROJECT, IndexSettings
from index.startup import load_embedder, open_retriever

FOLLOWUPS = PROJECT / "data" / "benchmark" / "followups"
KINDS = (PROJECT / "data" / "benchmark" / "news", PROJECT / "data" / "benchmark" / "encyclopedia")
INDEXES = PROJECT / "var" / "benchmark" / "followups"
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Conversation:
    turns: tuple[str, ...]
    rewritten: str
    evidence: tuple[str, ...]
    kind: str  # followup | standalone

    @property
    def question(self) -> str:
        return self.turns[-1]

    @property
    def previous(self) -> tuple[str, ...]:
        return self.turns[:-1][-2:]


@dataclass
class Tally:
    at1: int = 0
    at3: int = 0
    asked: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, found: Found, evidence: Sequence[str], label: str) -> None:
        texts = [_plain(hit.passage.text) for hit in found.hits]
        holds = [any(_plain(e) in text for e in evidence) for text in texts]
        self.asked += 1
        self.at1 += bool(holds[:1] and holds[0])
        self.at3 += any(holds[:3])
        if not (holds[:1] and holds[0]):
            self.misses.append(label)


def _plain(text: str) -> str:
    return _SPACE.sub(" ", text).strip().lower()


def load(path: Path) -> list[Conversation]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [
        Conversation(tuple(row["turns"]), row["rewritten"], tuple(row["evidence"]), row["kind"])
        for row in rows
    ]


class Asker:
    """The ways of asking, over one article's retriever."""

    def __init__(self, retriever: Retriever) -> None:
        self.retriever = retriever
        self.index = retriever._index
        self.embed = retriever.embedder.embed

    def texts(self, texts: Sequence[str]) -> list[Found]:
        return self.vectors(texts, self.embed(list(texts)))

    def vectors(self, texts: Sequence[str], vectors: np.ndarray) -> list[Found]:
        return self.index.search_many(list(texts), vectors, 3, self.retriever.scorer)

    def methods(self, conversations: Sequence[Conversation]) -> dict[str, list[Found]]:
        questions = [c.question for c in conversations]
        last = [" ".join([*c.previous[-1:], c.question]) for c in conversations]
        alone = self.texts(questions)
        with_last = self.texts(last)
        previous_answers = self.texts([c.previous[-1] for c in conversations])
        passages = [" ".join(h.passage.text for h in found.hits[:1]) for found in previous_answers]
        own, before = self.embed(questions), self.embed([c.previous[-1] for c in conversations])
        mixed = own + 0.5 * before
        mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
        gated = [looks_like_a_follow_up(c.question) for c in conversations]
        weighted = self.vectors(last, mixed)
        best = [a if a.correct >= b.correct else b for a, b in zip(alone, with_last, strict=True)]
        return {
            "alone": alone,
            "rewritten": self.texts([c.rewritten for c in conversations]),
            "previous question": with_last,
            "all turns": self.texts([" ".join([*c.previous, c.question]) for c in conversations]),
            "previous passage": self.texts(
                [f"{q} {p}".strip() for q, p in zip(questions, passages, strict=True)]
            ),
            "weighted vectors": weighted,
            "best of alone and previous question": best,
            # context only for questions that look like follow-ups (index.conversation)
            "gated: previous question": [
                w if g else a for g, a, w in zip(gated, alone, with_last, strict=True)
            ],
            "gated: weighted vectors": [
                w if g else a for g, a, w in zip(gated, alone, weighted, strict=True)
            ],
            "gated: best of": [w if g else a for g, a, w in zip(gated, alone, best, strict=True)],
            **{
                f"gated: best of, context by {margin:.2f}": [
                    b if g and b.correct >= a.correct + margin else a
                    for g, a, b in zip(gated, alone, with_last, strict=True)
                ]
                for margin in (0.05, 0.1, 0.2, 0.3)
            },
            # what Retriever.ask(after=…) does (index.conversation: the gate, then the margin)
            "implemented": self.implemented(conversations),
        }

    def implemented(self, conversations: Sequence[Conversation]) -> list[Found]:
        """What the bot answers: each earlier turn asked in order after the ones before it, so the
        passage it showed is known, then the last question after them."""
        found = []
        for conversation in conversations:
            turns: list[Turn] = []
            for earlier in conversation.previous:
                turns.append(turn_of(self.retriever.ask(earlier, 3, after=turns)))
            answer = self.retriever.ask(conversation.question, 3, after=turns)
            found.append(Found(answer.confidence, list(answer.hits), 0.0))
        return found


def main(root: Path, report: Callable[[str], None] = print) -> dict[str, dict[str, Tally]]:
    embedder = load_embedder(IndexSettings())
    totals: dict[str, dict[str, Tally]] = {"followup": {}, "standalone": {}}
    for path in sorted(root.glob("*.jsonl")):
        name = path.stem
        articles = next(
            (kind / name / "articles" for kind in KINDS if (kind / name / "articles").is_dir()), None
        )
        if articles is None:
            raise SystemExit(f"{path}: no articles for {name!r} under {', '.join(map(str, KINDS))}")
        settings = IndexSettings(articles_dir=articles, index_dir=INDEXES / name)
        retriever, _ = open_retriever(settings, embedder)
        conversations = load(path)
        found = Asker(retriever).methods(conversations)
        for method, answers in found.items():
            for conversation, answer in zip(conversations, answers, strict=True):
                if method == "rewritten" and conversation.kind == "standalone":
                    continue
                tally = totals[conversation.kind].setdefault(method, Tally())
                tally.add(answer, conversation.evidence, f"{name}: {' / '.join(conversation.turns)}")
    for kind, methods in totals.items():
        report(f"\n{kind} ({next(iter(methods.values())).asked} conversations)")
        report(f"{'way of asking':40} {'R@1':>6} {'R@3':>6}")
        for method, tally in methods.items():
            report(f"{method:40} {tally.at1 / tally.asked:6.3f} {tally.at3 / tally.asked:6.3f}")
    return totals


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, nargs="?", default=FOLLOWUPS)
    main(parser.parse_args().root)
