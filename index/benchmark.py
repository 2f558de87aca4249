"""The multi-article benchmark (data/benchmark/README.md): cases of articles with their question sets.

A case is a folder holding `articles/` (what gets indexed, alone) and one or more question sets
(`*.jsonl`). Its kind is the first folder under the benchmark's root ("encyclopedia", "news",
"shipped"); cases are what cross-validation holds out, so no article's questions tune its own fit.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from index.evaluation import EvalQuestion, load_questions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QuestionSet:
    """One JSONL file of a case."""

    name: str
    questions: tuple[EvalQuestion, ...]


@dataclass(frozen=True)
class Case:
    """Articles indexed together and the question sets asked of them."""

    name: str  # its folder relative to the benchmark's root, e.g. "news/ebola-treatments"
    kind: str
    articles_dir: Path
    sets: tuple[QuestionSet, ...]

    @property
    def questions(self) -> list[tuple[str, EvalQuestion]]:
        """Every question of the case with the name of its set."""
        return [(qset.name, question) for qset in self.sets for question in qset.questions]


def load_benchmark(root: Path, only: Sequence[str] = ()) -> list[Case]:
    """The cases under `root` (those whose name starts with one of `only`, if given); raises
    ValueError when there are none or a question set is malformed."""
    if not root.is_dir():
        raise ValueError(f"{root} is not a folder")
    cases = []
    for articles in sorted(root.rglob("articles")):
        folder = articles.parent
        name = folder.relative_to(root).as_posix() or folder.name
        if only and not any(name.startswith(prefix) for prefix in only):
            continue
        sets = tuple(
            QuestionSet(path.stem, tuple(load_questions(path))) for path in sorted(folder.glob("*.jsonl"))
        )
        if not articles.is_dir() or not sets:
            continue
        kind = name.split("/")[0] if "/" in name else ""
        cases.append(Case(name, kind, articles, sets))
    if not cases:
        raise ValueError(f"no benchmark cases under {root} (folders with articles/ and *.jsonl)")
    return cases


def cache_name(case: Case) -> str:
    """A folder name for the case's saved index."""
    return re.sub(r"[^\w.-]+", "__", case.name)
