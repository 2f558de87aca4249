"""Soft word matching over the packaged model's word-piece table (no model is run: the table is read
from the weights file, so these tests are fast)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from index.embedding import default_model_path
from index.token_match import TokenMatcher


@pytest.fixture(scope="module")
def matcher() -> TokenMatcher:
    made = TokenMatcher.from_model(default_model_path())
    assert made is not None
    return made


def test_content_pieces_leave_out_stopwords_punctuation_and_special_tokens(matcher: TokenMatcher):
    kept = matcher.content_ids("Who is the city's top lawyer?")
    plain = matcher.content_ids("city top lawyer")

    assert kept.tolist() == plain.tolist()
    assert len(kept) == 3


def test_a_paraphrase_scores_the_passage_it_paraphrases_highest(matcher: TokenMatcher):
    passages = [
        "The city said it has not yet received a response.",
        "Philadelphia entered into the contract in 2008, city solicitor Marcel Pratt said.",
        "The Trump administration wants to cut funding to the city.",
    ]

    scores = matcher.scores("Who is the city's top lawyer?", passages)

    assert int(np.argmax(scores)) == 1
    assert scores.shape == (3,)
    assert np.all((scores > -1) & (scores <= 1))


def test_nothing_to_match_scores_zero(matcher: TokenMatcher):
    assert matcher.scores("the of and?", ["Some passage text."]).tolist() == [0.0]
    assert matcher.scores("contract", ["!!!", "A contract."])[0] == 0.0


def test_a_folder_without_a_tokenizer_or_weights_has_no_matcher(tmp_path: Path):
    assert TokenMatcher.from_model(tmp_path) is None


def test_the_fake_embedder_gets_no_matcher(retriever):
    # tests' fake embedder is no model folder: ranking does without soft matching
    assert retriever._token_matcher() is None


def test_scores_are_the_mean_of_each_question_piece_s_best_match_in_the_passage(matcher: TokenMatcher):
    question = "Did the immigration agency reply to the termination?"
    passages = ["!!!", "The city said it has not yet received a response.", "A termination letter was sent."]

    scores = matcher.scores(question, passages)

    table = np.asarray(matcher._table, dtype=np.float32)
    unit = table / np.linalg.norm(table, axis=1, keepdims=True)
    asked = unit[matcher.content_ids(question)]
    for passage, score in zip(passages, scores, strict=True):
        ids = matcher.content_ids(passage)
        expected = (asked @ unit[ids].T).max(axis=1).mean() if ids.size else 0.0
        assert score == pytest.approx(expected, abs=1e-5)


def test_a_score_table_holds_each_question_s_scores(matcher: TokenMatcher):
    questions = ["Who is the city's top lawyer?", "the of and?", "Did the agency reply?", "lawyer lawyer"]
    passages = ["!!!", "The city said it has not yet received a response.", "city solicitor Marcel Pratt"]

    table = matcher.score_table(questions, passages)

    assert table.shape == (4, 3)
    for question, row in zip(questions, table, strict=True):
        expected = [matcher.score_table([question], [passage])[0, 0] for passage in passages]
        assert row == pytest.approx(expected, abs=1e-6)


def test_scores_asked_from_several_threads_at_once_are_the_same(matcher: TokenMatcher):
    # the normalised rows are kept as they are first used: concurrent first uses must not mix them up
    fresh = TokenMatcher(matcher._tokenizer, matcher._table)
    passages = ["The city said it has not yet received a response.", "city solicitor Marcel Pratt"]
    questions = [f"{word} lawyer agency reply termination" for word in ("mayor", "court", "data", "jail")] * 8

    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda question: fresh.scores(question, passages), questions))

    for question, scores in zip(questions, together, strict=True):
        assert scores == pytest.approx(matcher.scores(question, passages), abs=1e-6)
