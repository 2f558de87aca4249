"""Third and fourth stages: one fitted score ranks the candidates; calibrated probabilities decide
the confidence.

A `Scorer` is three logistic models over named features (index.features), read from a small JSON
file (`index/scorer.json`, written by `run_bot.py fit`, see index.fitting) without pickle:

- `rank`: the probability that a candidate passage answers the question; candidates are ranked by it;
- `correct`: the probability that the first passage answers the question ("high" from `high_from`);
- `covered`: the probability that the articles answer the question at all ("none" below `none_below`).

The thresholds were chosen on the training articles' held-out folds (index.fitting).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from index.answer import Confidence
from index.features import CANDIDATE_FEATURES, QUESTION_FEATURES, question_features

DEFAULT_SCORER = Path(__file__).with_name("scorer.json")
FORMAT = 1


class ScorerError(Exception):
    """A scorer file that can't be used; the message names it and what is wrong."""


@dataclass(frozen=True)
class LinearModel:
    """A logistic model over some named features: standardised, then weighted."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def columns(self, names: tuple[str, ...]) -> np.ndarray:
        """Where this model's features sit among `names`."""
        return np.array([names.index(name) for name in self.features], dtype=np.int64)

    def logits(self, x: np.ndarray) -> np.ndarray:
        """The log-odds of rows of `x` (already restricted to `features`, in order)."""
        return ((x - self.mean) / self.scale) @ self.coef + self.intercept

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "mean": [round(float(v), 6) for v in self.mean],
            "scale": [round(float(v), 6) for v in self.scale],
            "coef": [round(float(v), 6) for v in self.coef],
            "intercept": round(float(self.intercept), 6),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], known: tuple[str, ...]) -> LinearModel:
        features = tuple(str(name) for name in data["features"])
        unknown = sorted(set(features) - set(known))
        if unknown:
            raise ValueError(f"unknown features {', '.join(unknown)}")
        arrays = [np.asarray(data[key], dtype=np.float64) for key in ("mean", "scale", "coef")]
        if any(array.shape != (len(features),) for array in arrays) or np.any(arrays[1] <= 0):
            raise ValueError("mean, scale and coef must have one positive-scaled entry per feature")
        return cls(features, *arrays, float(data["intercept"]))


class Ranked(NamedTuple):
    """One question's candidates in answer order, its confidence and the probabilities behind it."""

    order: np.ndarray  # positions among the candidates, best first
    scores: np.ndarray  # the ranking model's logits, in `order`
    confidence: Confidence
    correct: float  # probability that the first passage answers the question
    covered: float  # probability that the articles answer it at all


def _sigmoid(x: float) -> float:
    return float(1 / (1 + np.exp(-x)))


@dataclass(frozen=True)
class Scorer:
    """Ranks one question's candidate passages and says how sure it is."""

    rank: LinearModel
    correct: LinearModel
    covered: LinearModel
    high_from: float
    none_below: float
    about: dict[str, Any]  # how and on what it was fitted (for people; not read by the code)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_rank_columns", self.rank.columns(CANDIDATE_FEATURES))
        object.__setattr__(self, "_correct_columns", self.correct.columns(QUESTION_FEATURES))
        object.__setattr__(self, "_covered_columns", self.covered.columns(QUESTION_FEATURES))

    def rank_scores(self, features: np.ndarray) -> np.ndarray:
        """The ranking logits of candidates (rows of CANDIDATE_FEATURES)."""
        return self.rank.logits(features[:, self._rank_columns])

    def decide(self, features: np.ndarray) -> Ranked:
        """Rank one question's candidates (rows of CANDIDATE_FEATURES, at least one) and decide."""
        scores = self.rank_scores(features)
        order = np.argsort(-scores, kind="stable")
        asked = question_features(scores[order], features[order])
        correct = _sigmoid(float(self.correct.logits(asked[self._correct_columns])))
        covered = _sigmoid(float(self.covered.logits(asked[self._covered_columns])))
        return Ranked(order, scores[order], self.confidence(correct, covered), correct, covered)

    def confidence(self, correct: float, covered: float) -> Confidence:
        """ "none" when the articles probably don't answer it, "high" when the first passage
        probably does, else "low"."""
        if covered < self.none_below:
            return "none"
        return "high" if correct >= self.high_from else "low"

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "about": self.about,
            "rank": self.rank.to_json(),
            "correct": self.correct.to_json(),
            "covered": self.covered.to_json(),
            "thresholds": {"high_from": round(self.high_from, 6), "none_below": round(self.none_below, 6)},
        }

    def save(self, path: Path) -> None:
        """Write the scorer as JSON (atomically: a crash leaves the old file)."""
        staging = path.with_name(path.name + ".tmp")
        staging.write_text(json.dumps(self.to_json(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        staging.replace(path)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Scorer:
        if data.get("format") != FORMAT:
            raise ValueError(f"format {data.get('format')!r}, expected {FORMAT}")
        thresholds = data["thresholds"]
        return cls(
            rank=LinearModel.from_json(data["rank"], CANDIDATE_FEATURES),
            correct=LinearModel.from_json(data["correct"], QUESTION_FEATURES),
            covered=LinearModel.from_json(data["covered"], QUESTION_FEATURES),
            high_from=float(thresholds["high_from"]),
            none_below=float(thresholds["none_below"]),
            about=dict(data.get("about", {})),
        )


@cache
def load_scorer(path: Path = DEFAULT_SCORER) -> Scorer:
    """The scorer saved at `path`; raises ScorerError naming the file and the problem."""
    try:
        return Scorer.from_json(json.loads(path.read_text(encoding="utf-8")))
    except OSError as error:
        raise ScorerError(f"can't read the scorer {path}: {error.strerror or error}") from error
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ScorerError(
            f"the scorer {path} is not usable ({error}); re-create it with `make fit`"
        ) from error
