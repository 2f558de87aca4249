"""Follow-up questions: a question asked as the next turn of a conversation (index.conversation)."""

from __future__ import annotations

import io
import json

import pytest

from index.console import ask
from index.conversation import CONTEXT_MARGIN, MAX_TURNS, better, in_context, looks_like_a_follow_up
from index.retriever import NOTHING, Found, Retriever


def test_a_question_in_context_follows_the_previous_question():
    assert (
        in_context("when did he start?", ["who is the solicitor?"])
        == "who is the solicitor? when did he start?"
    )
    assert in_context("and then?", ["first?", "second?", "third?"]) == "third? and then?"
    assert in_context("alone?", []) is None
    assert in_context("alone?", ["  "]) is None
    assert MAX_TURNS == 3


def test_a_question_that_stands_alone_is_not_put_in_context():
    assert in_context("how much do aquarium tickets cost?", ["who opened the aquarium?"]) is None


@pytest.mark.parametrize(
    "question",
    ["when did he say it?", "and the police?", "what about the judge?", "why?", "how much did that cost?"],
)
def test_questions_that_lean_on_an_earlier_turn_look_like_follow_ups(question: str):
    assert looks_like_a_follow_up(question)


@pytest.mark.parametrize(
    "question", ["who is buying tesco's stores in poland", "how much do aquarium tickets cost?"]
)
def test_questions_with_words_of_their_own_do_not(question: str):
    assert not looks_like_a_follow_up(question)


def test_the_contexts_answer_is_kept_only_when_clearly_more_likely():
    alone = Found("low", [], 0.5)
    assert better(alone, Found("high", [], 0.5 + CONTEXT_MARGIN)) is not alone
    assert better(alone, Found("high", [], 0.5 + CONTEXT_MARGIN / 2)) is alone


def test_the_better_supported_answer_is_kept_and_a_tie_keeps_the_question_as_asked():
    alone, contextual = Found("low", [], 0.4), Found("high", [], 0.9)
    assert better(alone, contextual) is contextual
    assert better(contextual, alone) is contextual
    assert better(alone, Found("low", [], 0.4)) is alone
    assert better(alone, None) is alone
    assert better(NOTHING, alone) is alone


def test_a_follow_up_is_answered_from_the_passage_its_conversation_is_about(retriever: Retriever):
    # "he" alone shares no word with the paragraph that answers; after the previous question it does
    follow_up = "What did he tell reporters?"
    earlier = ["What does Juntos, the immigrant advocacy group, say?"]
    alone = retriever.ask(follow_up)
    after = retriever.ask(follow_up, after=earlier)
    assert after.question == follow_up  # the asker's words, as asked
    assert after.hits, "the conversation found the passage"
    assert "Juntos" in after.hits[0].passage.text
    assert not alone.hits or "Juntos" not in alone.hits[0].passage.text


def test_a_self_contained_question_after_an_unrelated_turn_keeps_its_own_answer(retriever: Retriever):
    question = "When does the contract expire?"
    alone = retriever.ask(question)
    after = retriever.ask(question, after=["sourdough bread baking tips"])
    assert [hit.passage for hit in after.hits] == [hit.passage for hit in alone.hits]


def test_ask_after_earlier_questions_from_the_command_line(retriever: Retriever):
    out = io.StringIO()
    earlier = ["What does Juntos, the immigrant advocacy group, say?"]
    ask(retriever, ["What did he tell reporters?"], out, k=1, as_json=True, after=earlier)
    [row] = [json.loads(line) for line in out.getvalue().splitlines()]
    assert row["question"] == "What did he tell reporters?"
    assert "Juntos" in row["passages"][0]["text"]
