"""Quality floors from held-out articles: the benchmark cross-validated by article, as `run_bot.py eval
data/benchmark` reports it (slow: indexes every case with the real model).

The floors are the cross-validated scores measured when the scorer was last changed (docs/retrieval.md),
rounded down: a change that lowers held-out quality fails here. Raise them as quality improves; never
lower them to let a change through.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from index.benchmark import load_benchmark
from index.embedding import Embedder
from index.evaluation import EvalReport
from index.fitting import cross_validate, examine
from tests.conftest import REPO

pytestmark = pytest.mark.slow

BENCHMARK = REPO / "data" / "benchmark"

# kind → metric → floor; false_abstention is a ceiling. Measured in session 4 (5 folds, 16 articles):
# encyclopedia R@1 0.830, R@3 0.938, off→none 0.390, high P 0.880, false abst. 0.001;
# news R@1 0.717, R@3 0.860, off→none 0.385, near¬high 0.932, high P 0.868, false abst. 0.026.
FLOORS: dict[str, dict[str, float]] = {
    "encyclopedia": {
        "recall_at_1": 0.82,
        "recall_at_3": 0.93,
        "off_topic_none": 0.37,
        "high_precision": 0.86,
        "false_abstention": 0.005,
    },
    "news": {
        "recall_at_1": 0.70,
        "recall_at_3": 0.84,
        "off_topic_none": 0.36,
        "near_topic_not_high": 0.9,
        "high_precision": 0.84,
        "false_abstention": 0.035,
    },
}


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder) -> dict[str, EvalReport]:
    cache: Path = tmp_path_factory.mktemp("benchmark-indexes")
    examples = examine(load_benchmark(BENCHMARK), real_embedder, cache)
    by_kind: dict[str, list] = {}
    for example, ranked in cross_validate(examples):
        by_kind.setdefault(example.kind, []).append(example.outcome(ranked))
    return {kind: EvalReport.of(outcomes) for kind, outcomes in by_kind.items()}


@pytest.mark.parametrize(
    ("kind", "metric"), [(kind, metric) for kind, floors in FLOORS.items() for metric in floors]
)
def test_held_out_quality_stays_above_its_floor(reports: dict[str, EvalReport], kind: str, metric: str):
    measured = reports[kind].metrics()[metric]
    floor = FLOORS[kind][metric]

    assert not math.isnan(measured)
    if metric == "false_abstention":
        assert measured <= floor, f"{kind} {metric} {measured:.3f} > {floor}"
    else:
        assert measured >= floor, f"{kind} {metric} {measured:.3f} < {floor}"


def test_every_kind_of_article_is_measured(reports: dict[str, EvalReport]):
    assert set(reports) == set(FLOORS)
    assert all(report.answerable >= 50 for report in reports.values())
