"""Fitting the scorer (index.scorer) on the benchmark, and judging it by article-held-out folds.

`examine` indexes each case of the benchmark and records, per question, its candidates' features
and which of them contain the evidence. `fit_scorer` fits the three logistic models on such examples
(scikit-learn, imported here only: answering never needs it); `cross_validate` holds out whole
articles (GroupKFold by case), so no article's questions tune the scorer that answers them.

    python run_bot.py fit                  # writes index/scorer.json from data/benchmark
    python run_bot.py eval data/benchmark  # the cross-validated report
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from index.benchmark import Case, cache_name
from index.embedding import Embedder
from index.evaluation import EvalQuestion, EvalReport, Outcome, is_correct
from index.features import CANDIDATE_FEATURES, QUESTION_FEATURES, question_features
from index.scorer import LinearModel, Ranked, Scorer
from index.settings import IndexSettings

log = logging.getLogger(__name__)

# What the ranking model weighs: features whose differences between two passages of one question
# mean the same on any article (docs/retrieval.md has the ablations). The question's own features
# (coverage, terms) are the same for all its candidates: they inform the confidence only.
RANK_FEATURES = (
    "dense",
    "sentence",
    "whole",
    "dense_z",
    "lexical_z",
    "lexical_z_covered",
)
# What the confidence models weigh (all of QUESTION_FEATURES unless an ablation shows one useless).
CONFIDENCE_FEATURES = QUESTION_FEATURES
# "none" is set so that at most this share of each training article's answerable questions get it.
# 0: none of them. Cross-validated, 0.01 let 5.5% of a held-out news article's answerable questions
# be called "not covered"; 0 keeps that at 0.5%, at the price of fewer off-topic questions called so
# (docs/retrieval.md has the frontier).
FALSE_ABSTENTION_BUDGET = 0.0
HIGH_PRECISION = 0.92  # "high" is set so this share of the training folds' "high" answers are right
INNER_FOLDS = 4
REGULARISATION = 1.0  # scikit-learn's C


@dataclass(frozen=True)
class Example:
    """One benchmark question, examined: its candidates' features and which contain the evidence."""

    case: str
    kind: str
    set: str
    question: EvalQuestion
    features: np.ndarray  # candidates × CANDIDATE_FEATURES
    correct: np.ndarray  # candidates, bool

    def outcome(self, ranked: Ranked | None) -> Outcome:
        """How the question fares when its candidates are ranked and decided as `ranked`."""
        if ranked is None or ranked.confidence == "none":
            return Outcome(self.question, "none", None)
        hits = self.correct[ranked.order[:3]]
        rank = int(np.argmax(hits)) + 1 if self.question.answerable and hits.any() else None
        return Outcome(self.question, ranked.confidence, rank)


def examine(cases: Sequence[Case], embedder: Embedder, cache: Path) -> list[Example]:
    """Index each case (saved under `cache`, rebuilt only when its articles change) and examine
    every question of it."""
    from index.retriever import SearchIndex, normalize_question
    from index.startup import open_index

    examples: list[Example] = []
    for case in cases:
        settings = IndexSettings(articles_dir=case.articles_dir, index_dir=cache / cache_name(case))
        data, _ = open_index(settings, embedder)
        index = SearchIndex(data)
        asked = case.questions
        texts = [normalize_question(question.question)[0] or "?" for _, question in asked]
        vectors = embedder.embed(texts)
        for (name, question), (passages, features, _) in zip(
            asked, index.examine(texts, vectors), strict=True
        ):
            correct = np.array(
                [is_correct(index.passage_text(int(p)), question.evidence) for p in passages], dtype=bool
            )
            examples.append(Example(case.name, case.kind, name, question, features, correct))
        log.info("examined %s: %d questions", case.name, len(asked))
    return examples


def _weights(examples: Sequence[Example]) -> np.ndarray:
    """Each case weighs the same in a fit, however many questions it has."""
    cases, counts = np.unique([e.case for e in examples], return_counts=True)
    per_case = dict(zip(cases.tolist(), (1 / counts).tolist(), strict=True))
    weights = np.array([per_case[e.case] for e in examples])
    return weights * len(examples) / weights.sum()


def _logistic(x: np.ndarray, y: np.ndarray, weights: np.ndarray, names: tuple[str, ...]) -> LinearModel:
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    model = LogisticRegression(C=REGULARISATION, max_iter=2000)
    model.fit((x - mean) / scale, y, sample_weight=weights)
    return LinearModel(names, mean, scale, model.coef_[0].astype(np.float64), float(model.intercept_[0]))


def fit_ranker(examples: Sequence[Example], names: tuple[str, ...] | None = None) -> LinearModel:
    """The ranking model: pairwise logistic regression on (correct − incorrect) feature differences
    of the same question's candidates, so it learns what puts one passage above another there
    (over `names`, default RANK_FEATURES)."""
    names = names or RANK_FEATURES
    columns = np.array([CANDIDATE_FEATURES.index(name) for name in names])
    differences, weights = [], []
    for example, weight in zip(examples, _weights(examples), strict=True):
        good = example.features[example.correct][:, columns]
        bad = example.features[~example.correct][:, columns]
        if not len(good) or not len(bad):
            continue
        pairs = (good[:, None, :] - bad[None, :, :]).reshape(-1, len(columns))
        differences.append(pairs)
        weights.append(np.full(len(pairs), weight / len(pairs)))
    x = np.concatenate(differences)
    w = np.concatenate(weights)
    # both directions of every pair: the model is antisymmetric, without an intercept to learn
    x2, y2, w2 = np.concatenate([x, -x]), np.r_[np.ones(len(x)), np.zeros(len(x))], np.r_[w, w]
    from sklearn.linear_model import LogisticRegression

    scale = np.sqrt((x2**2).mean(axis=0))
    scale[scale < 1e-9] = 1.0
    model = LogisticRegression(C=REGULARISATION, max_iter=2000, fit_intercept=False)
    model.fit(x2 / scale, y2, sample_weight=w2 * len(w2) / w2.sum())
    return LinearModel(names, np.zeros(len(names)), scale, model.coef_[0].astype(np.float64), 0.0)


def _question_rows(examples: Sequence[Example], ranker: LinearModel) -> tuple[np.ndarray, np.ndarray]:
    """Per example with candidates: its QUESTION_FEATURES under `ranker`, and whether its first
    passage is correct; plus which examples those rows are."""
    columns = ranker.columns(CANDIDATE_FEATURES)
    rows, first_correct = [], []
    for example in examples:
        scores = ranker.logits(example.features[:, columns])
        order = np.argsort(-scores, kind="stable")
        rows.append(question_features(scores[order], example.features[order]))
        first_correct.append(bool(example.correct[order[0]]))
    return np.array(rows), np.array(first_correct)


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, share: float) -> float:
    """The value below which `share` of the weight lies (the smallest value for share 0)."""
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order]) / weights.sum()
    return float(values[order][np.searchsorted(cumulative, share, side="right" if share == 0 else "left")])


def _lowest_precise_threshold(probability: np.ndarray, right: np.ndarray, weights: np.ndarray) -> float:
    """The lowest threshold at which the (weighted) share of right answers among those at or above
    it is at least HIGH_PRECISION (1.0, calling nothing "high", when none is)."""
    order = np.argsort(-probability, kind="stable")
    precision = np.cumsum((weights * right)[order]) / np.cumsum(weights[order])
    precise = np.flatnonzero(precision >= HIGH_PRECISION)
    return float(probability[order][precise[-1]]) if precise.size else 1.0


def fit_scorer(examples: Sequence[Example], about: dict | None = None) -> Scorer:
    """Fit the ranking, `correct` and `covered` models and their thresholds on `examples`."""
    from sklearn.model_selection import GroupKFold

    usable = [e for e in examples if len(e.features)]
    answerable = [e for e in usable if e.question.answerable]
    ranker = fit_ranker(answerable)
    # The confidence models learn from rankings of questions the ranker did not see (inner folds).
    groups = np.array([e.case for e in usable])
    rows = np.zeros((len(usable), len(QUESTION_FEATURES)), dtype=np.float32)
    first_correct = np.zeros(len(usable), dtype=bool)
    folds = min(INNER_FOLDS, len(set(groups.tolist())))
    if folds >= 2:
        for train, test in GroupKFold(n_splits=folds).split(usable, groups=groups):
            inner = fit_ranker([usable[i] for i in train if usable[i].question.answerable])
            rows[test], first_correct[test] = _question_rows([usable[i] for i in test], inner)
    else:
        rows, first_correct = _question_rows(usable, ranker)
    kinds = np.array([e.question.kind for e in usable])
    weights = _weights(usable)
    correct_label = first_correct & (kinds == "answerable")
    chosen = [QUESTION_FEATURES.index(name) for name in CONFIDENCE_FEATURES]
    rows = rows[:, chosen]
    correct = _logistic(rows, correct_label, weights, CONFIDENCE_FEATURES)
    judged = kinds != "near-topic"  # on the subject but unanswered: neither covered nor not
    covered = _logistic(rows[judged], kinds[judged] == "answerable", weights[judged], CONFIDENCE_FEATURES)

    p_covered = 1 / (1 + np.exp(-covered.logits(rows)))
    p_correct = 1 / (1 + np.exp(-correct.logits(rows)))
    # the budget holds on every training article on its own: a new article is judged by the
    # worst of them, not by their average
    none_below = min(
        _weighted_quantile(p_covered[chosen], weights[chosen], FALSE_ABSTENTION_BUDGET)
        for case in set(groups.tolist())
        if (chosen := (kinds == "answerable") & (groups == case)).any()
    )
    high_from = _lowest_precise_threshold(
        p_correct[p_covered >= none_below],
        correct_label[p_covered >= none_below],
        weights[p_covered >= none_below],
    )
    about = dict(about or {})
    about.setdefault("fitted", datetime.now(UTC).isoformat(timespec="seconds"))
    about["questions"] = len(usable)
    about["cases"] = sorted(set(groups.tolist()))
    return Scorer(ranker, correct, covered, high_from, none_below, about)


def cross_validate(examples: Sequence[Example], folds: int = 5) -> list[tuple[Example, Ranked | None]]:
    """Each example ranked and decided by a scorer fitted on the other folds' cases only."""
    from sklearn.model_selection import GroupKFold

    groups = np.array([e.case for e in examples])
    folds = min(folds, len(set(groups.tolist())))
    if folds < 2:
        raise ValueError("cross-validation needs at least two cases")
    results: list[tuple[Example, Ranked | None]] = []
    for train, test in GroupKFold(n_splits=folds).split(examples, groups=groups):
        scorer = fit_scorer([examples[i] for i in train])
        for i in test:
            example = examples[i]
            results.append((example, scorer.decide(example.features) if len(example.features) else None))
    return results


def report_rows(results: Sequence[tuple[Example, Ranked | None]]) -> list[tuple[str, EvalReport]]:
    """Report rows of cross-validated results: one per question set, one per kind of article, and
    one over everything."""
    by_set: dict[str, list[Outcome]] = {}
    by_kind: dict[str, list[Outcome]] = {}
    for example, ranked in results:
        outcome = example.outcome(ranked)
        by_set.setdefault(f"{example.case}/{example.set}", []).append(outcome)
        by_kind.setdefault(f"all {example.kind or 'cases'}", []).append(outcome)
    rows = [(name, EvalReport.of(outcomes)) for name, outcomes in sorted(by_set.items())]
    if len(by_kind) > 1:
        rows += [(name, EvalReport.of(outcomes)) for name, outcomes in sorted(by_kind.items())]
    rows.append(("all", EvalReport.of(o for outcomes in by_kind.values() for o in outcomes)))
    return rows
