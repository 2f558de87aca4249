"""The scorer: three logistic models read from JSON, ranking candidates and deciding the confidence."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from index.features import CANDIDATE_FEATURES, FEATURE_INDEX
from index.scorer import DEFAULT_SCORER, LinearModel, Scorer, ScorerError, load_scorer
from tests.fakes import fake_scorer


def candidates(sentence: list[float]) -> np.ndarray:
    """Candidate features where only `sentence` varies."""
    features = np.zeros((len(sentence), len(CANDIDATE_FEATURES)), dtype=np.float32)
    features[:, FEATURE_INDEX["sentence"]] = sentence
    return features


def test_decide_ranks_by_the_model_and_says_how_sure_it_is():
    scorer = fake_scorer()

    ranked = scorer.decide(candidates([0.2, 0.7, 0.4]))

    assert ranked.order.tolist() == [1, 2, 0]
    assert ranked.scores.tolist() == pytest.approx([0.7, 0.4, 0.2])
    assert ranked.confidence == "high"
    assert scorer.decide(candidates([0.15, 0.1])).confidence == "none"


def test_low_when_the_first_is_probably_wrong_but_the_article_covers_it():
    scorer = Scorer(
        fake_scorer().rank,
        LinearModel(("top_sentence",), np.array([0.8]), np.array([0.01]), np.ones(1), 0.0),
        fake_scorer().covered,
        0.5,
        0.5,
        {},
    )

    assert scorer.decide(candidates([0.3, 0.2])).confidence == "low"


def test_the_confidence_thresholds():
    scorer = fake_scorer()
    assert scorer.confidence(correct=0.99, covered=0.49) == "none"  # not covered wins over "high"
    assert scorer.confidence(correct=0.5, covered=0.5) == "high"
    assert scorer.confidence(correct=0.49, covered=0.9) == "low"


def test_a_scorer_survives_a_json_round_trip(tmp_path: Path):
    path = tmp_path / "scorer.json"
    fake_scorer().save(path)

    loaded = load_scorer(path)

    assert loaded.to_json() == fake_scorer().to_json()
    features = candidates([0.1, 0.9, 0.5])
    assert loaded.decide(features).order.tolist() == fake_scorer().decide(features).order.tolist()


def test_the_shipped_scorer_loads_and_was_fitted_on_the_benchmark():
    scorer = load_scorer(DEFAULT_SCORER)

    assert 0 < scorer.none_below < 1
    assert 0 < scorer.high_from <= 1
    assert any(case.startswith("encyclopedia/") for case in scorer.about["cases"])
    assert any(case.startswith("news/") for case in scorer.about["cases"])


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (lambda data: {**data, "format": 99}, "format 99"),
        (
            lambda data: {**data, "rank": {**data["rank"], "features": ["telepathy"]}},
            "unknown features telepathy",
        ),
        (
            lambda data: {**data, "rank": {**data["rank"], "scale": [0.0] * len(data["rank"]["scale"])}},
            "positive",
        ),
        (lambda data: {key: value for key, value in data.items() if key != "thresholds"}, "thresholds"),
    ],
)
def test_a_damaged_scorer_file_is_one_clear_error(tmp_path: Path, damage, says: str):
    path = tmp_path / "scorer.json"
    path.write_text(json.dumps(damage(fake_scorer().to_json())))

    with pytest.raises(ScorerError, match=says) as raised:
        load_scorer(path)
    assert str(path) in str(raised.value)


def test_a_missing_scorer_file_is_one_clear_error(tmp_path: Path):
    with pytest.raises(ScorerError, match="can't read the scorer"):
        load_scorer(tmp_path / "nope.json")


def test_a_model_reads_its_own_features_by_name():
    model = LinearModel(("whole", "dense"), np.zeros(2), np.ones(2), np.array([1.0, -1.0]), 0.5)
    scorer = Scorer(model, fake_scorer().correct, fake_scorer().covered, 0.5, 0.5, {})
    features = np.zeros((2, len(CANDIDATE_FEATURES)), dtype=np.float32)
    features[:, FEATURE_INDEX["whole"]] = [1.0, 2.0]
    features[:, FEATURE_INDEX["dense"]] = [0.0, 3.0]

    assert scorer.rank_scores(features).tolist() == pytest.approx([1.5, -0.5])
