"""Sentence and clause splitting: the units the index embeds besides whole passages."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from index.passages import split_clauses, split_sentences


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        (
            "The contract expires Aug. 31. He said so.",
            ["The contract expires Aug. 31.", "He said so."],
        ),
        (
            "He met Mr. Smith at 5 p.m. Friday. Then J. R. Doe left!",
            ["He met Mr. Smith at 5 p.m. Friday.", "Then J. R. Doe left!"],
        ),
        (
            '"We\'re not going," he said. "Why?" she asked.',
            ['"We\'re not going," he said.', '"Why?" she asked.'],
        ),
        ("The U.S. Army said so. It cost $3.5 million.", ["The U.S. Army said so.", "It cost $3.5 million."]),
        ("no capital after the stop. so one sentence", ["no capital after the stop. so one sentence"]),
    ],
)
def test_sentences_split_at_real_boundaries_only(text: str, sentences: list[str]):
    assert split_sentences(text) == sentences


def test_clauses_split_at_commas_and_short_pieces_join_a_neighbour():
    sentence = (
        "Philadelphia entered into the contract in 2008, city solicitor Marcel Pratt said, "
        "and revised it in 2009 to shield witness and victim information."
    )

    assert split_clauses(sentence) == [
        "Philadelphia entered into the contract in 2008,",
        "city solicitor Marcel Pratt said,",
        "and revised it in 2009 to shield witness and victim information.",
    ]
    assert split_clauses("Juntos, an immigrant advocacy group, said the city's decision will help.") == [
        "Juntos, an immigrant advocacy group,",
        "said the city's decision will help.",
    ]


def test_a_sentence_without_a_useful_cut_is_one_clause():
    assert split_clauses("The city said it has not yet received a response.") == [
        "The city said it has not yet received a response."
    ]
    assert split_clauses("Yes, he said, no.") == ["Yes, he said, no."]


@given(st.text(max_size=400))
def test_clauses_and_sentences_keep_every_word(text: str):
    for pieces in (split_sentences(text), split_clauses(text)):
        assert " ".join(pieces).split() == text.split()
