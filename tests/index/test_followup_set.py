"""The follow-up sets (data/benchmark/followups*) are well formed: every conversation has the
fields bench/followups.py reads, 2 or 3 turns, and evidence copied exactly from its article."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import REPO

BENCHMARK = REPO / "data" / "benchmark"
FOLLOWUPS = BENCHMARK / "followups"
KINDS = (BENCHMARK / "news", BENCHMARK / "encyclopedia")  # where a set's articles are
# the development set and the four blind sets
SETS = sorted(path for folder in BENCHMARK.glob("followups*") for path in folder.glob("*.jsonl"))


@pytest.mark.parametrize(
    "folder", ["followups", "followups-blind2", "followups-blind3", "followups-blind4", "followups-blind5"]
)
def test_a_blind_set_has_40_follow_ups_over_3_articles_and_as_many_self_contained_questions(folder: str):
    paths = sorted((BENCHMARK / folder).glob("*.jsonl"))
    rows = [json.loads(line) for path in paths for line in path.read_text().splitlines() if line.strip()]
    kinds = [row["kind"] for row in rows]
    assert len(paths) >= 3
    assert kinds.count("followup") >= 40
    assert kinds.count("standalone") >= 40


@pytest.mark.parametrize("path", SETS, ids=[f"{path.parent.name}/{path.stem}" for path in SETS])
def test_every_conversation_is_well_formed_and_its_evidence_is_in_its_article(path: Path):
    [article] = [found for kind in KINDS for found in sorted((kind / path.stem / "articles").glob("*.txt"))]
    text = article.read_text(encoding="utf-8")
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        row = json.loads(line)
        assert row["kind"] in ("followup", "standalone"), number
        assert len(row["turns"]) in ((2, 3) if row["kind"] == "followup" else (2,)), number
        assert row["rewritten"].strip(), number
        assert row["evidence"], number
        for evidence in row["evidence"]:
            assert evidence in text, f"{path.name}:{number}: {evidence!r}"
