"""Fitting the scorer and cross-validating it by article, on synthetic examples (no model needed)."""

from __future__ import annotations

import numpy as np
import pytest

from index import fitting
from index.evaluation import EvalQuestion
from index.features import CANDIDATE_FEATURES, FEATURE_INDEX
from index.fitting import Example, cross_validate, fit_scorer


def synthetic_examples(cases: int = 4, per_case: int = 60, seed: int = 0) -> list[Example]:
    """Per case: answerable questions whose right passage has a higher `sentence` cosine (with
    noise) and off-topic questions whose candidates all score low."""
    rng = np.random.default_rng(seed)
    examples = []
    for case in range(cases):
        for number in range(per_case):
            answerable = number % 3 != 0
            features = np.zeros((8, len(CANDIDATE_FEATURES)), dtype=np.float32)
            sentence = rng.normal(0.25, 0.08, 8)
            correct = np.zeros(8, dtype=bool)
            if answerable:
                right = rng.integers(8)
                sentence[right] += rng.normal(0.35, 0.1)
                correct[right] = True
            features[:, FEATURE_INDEX["sentence"]] = sentence
            features[:, FEATURE_INDEX["dense"]] = sentence + rng.normal(0, 0.05, 8)
            features[:, FEATURE_INDEX["dense_z"]] = (sentence - sentence.mean()) / sentence.std()
            question = EvalQuestion(f"q{case}-{number}", answerable, ("x",) if answerable else ())
            examples.append(Example(f"kind/case{case}", "kind", "set", question, features, correct))
    return examples


def test_the_fitted_ranker_prefers_what_marks_the_right_passage():
    scorer = fit_scorer(synthetic_examples())

    weights = dict(zip(scorer.rank.features, scorer.rank.coef, strict=True))
    assert weights["sentence"] > 0
    assert scorer.about["cases"] == [f"kind/case{n}" for n in range(4)]
    assert 0 < scorer.none_below < 1


def test_thresholds_hold_their_budgets_on_the_training_questions():
    examples = synthetic_examples()
    scorer = fit_scorer(examples)

    ranked = [(e, scorer.decide(e.features)) for e in examples]
    answerable = [r for e, r in ranked if e.question.answerable]
    abstained = sum(r.confidence == "none" for r in answerable) / len(answerable)
    high = [(e, r) for e, r in ranked if r.confidence == "high"]
    precision = sum(e.outcome(r).first_correct for e, r in high) / len(high)
    assert abstained <= fitting.FALSE_ABSTENTION_BUDGET
    assert precision >= fitting.HIGH_PRECISION - 0.05
    # a covered model that learned nothing would abstain on about the budget's share of them
    off_topic = [r for e, r in ranked if not e.question.answerable]
    assert (
        sum(r.confidence == "none" for r in off_topic) / len(off_topic)
        > fitting.FALSE_ABSTENTION_BUDGET + 0.2
    )


def test_cross_validation_never_answers_a_case_with_a_scorer_fitted_on_it(monkeypatch: pytest.MonkeyPatch):
    fitted_on: list[set[str]] = []
    real_fit = fitting.fit_scorer

    def recording_fit(examples, about=None):
        fitted_on.append({e.case for e in examples})
        return real_fit(examples, about)

    monkeypatch.setattr(fitting, "fit_scorer", recording_fit)
    examples = synthetic_examples(cases=4)

    results = cross_validate(examples, folds=4)

    assert len(results) == len(examples)
    assert len(fitted_on) == 4
    assert all(len(cases) == 3 for cases in fitted_on)  # each fold leaves one case out whole
    assert set.union(*fitted_on) == {f"kind/case{n}" for n in range(4)}


def test_cross_validation_needs_two_cases():
    with pytest.raises(ValueError, match="at least two cases"):
        cross_validate(synthetic_examples(cases=1))


def test_an_example_without_candidates_is_answered_none():
    [example] = synthetic_examples(cases=1, per_case=2)[1:2]
    assert example.question.answerable

    assert example.outcome(None).confidence == "none"
    assert example.outcome(None).rank is None
