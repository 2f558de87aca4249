"""Follow-up questions: a question asked as the next turn of a conversation (index.conversation)."""

from __future__ import annotations

import io
import json

import pytest

from index.answer import Hit
from index.console import ask, chat
from index.conversation import (
    CONTEXT_MARGIN,
    MAX_TURNS,
    UNSURE,
    Turn,
    in_context,
    in_turn,
    looks_like_a_follow_up,
)
from index.passages import Passage
from index.retriever import NOTHING, Found, Retriever


def test_a_question_in_context_follows_the_previous_question():
    assert (
        in_context("when did he start?", [Turn("who is the solicitor?")])
        == "who is the solicitor? when did he start?"
    )
    assert in_context("and then?", [Turn("first?"), Turn("second?"), Turn("third?")]) == "third? and then?"
    assert in_context("alone?", []) is None
    assert in_context("alone?", [Turn("  ")]) is None
    assert MAX_TURNS == 3


def test_a_question_that_stands_alone_is_not_put_in_context():
    assert in_context("how much do aquarium tickets cost?", [Turn("who opened the aquarium?")]) is None


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


def passage(number: int) -> Passage:
    return Passage(text=f"passage {number}", article="A", source="a.txt", paragraph=number)


def hit(number: int, score: float) -> Hit:
    return Hit(passage(number), score, f"sentence {number}")


def found(confidence: str, correct: float, *hits: Hit) -> Found:
    return Found(confidence, list(hits), correct)  # type: ignore[arg-type]


def firsts(answer: Found) -> list[int]:
    return [h.passage.paragraph for h in answer.hits]


def test_the_contexts_answer_is_kept_only_when_clearly_more_likely():
    alone = found("low", 0.5, hit(1, 2.0))
    assert firsts(in_turn(alone, found("high", 0.5 + CONTEXT_MARGIN, hit(2, 3.0)), None, k=3)) == [2]
    assert firsts(in_turn(alone, found("high", 0.5 + CONTEXT_MARGIN / 2, hit(2, 3.0)), None, k=3)) == [1]


def test_without_context_the_question_keeps_its_own_answer_cut_to_k():
    alone = found("high", 0.9, hit(1, 2.0), hit(2, 1.0), hit(3, 0.5))
    assert firsts(in_turn(alone, None, passage(3), k=2)) == [1, 2]
    assert in_turn(NOTHING, None, None, k=3) == NOTHING


def test_an_unsure_answer_puts_the_previous_answers_passage_first_when_it_is_near():
    unsure = UNSURE - 0.01
    alone = found("low", unsure, hit(1, 2.0), hit(2, 1.8), hit(3, 1.7), hit(4, 1.6))
    with_context = found("low", unsure, hit(5, 2.0))
    assert firsts(in_turn(alone, with_context, passage(3), k=3)) == [3, 1, 2]
    assert firsts(in_turn(alone, with_context, passage(4), k=3)) == [1, 2, 3]  # not near the top
    assert firsts(in_turn(alone, None, passage(3), k=3)) == [1, 2, 3]  # not a follow-up


def test_a_sure_answer_keeps_its_order():
    alone = found("high", UNSURE, hit(1, 2.0), hit(2, 1.8))
    assert firsts(in_turn(alone, found("low", 0.1, hit(5, 1.0)), passage(2), k=3)) == [1, 2]


def test_a_follow_up_is_answered_from_the_passage_its_conversation_is_about(retriever: Retriever):
    # "he" alone shares no word with the paragraph that answers; after the previous question it does
    follow_up = "What did he tell reporters?"
    earlier = [Turn("What does Juntos, the immigrant advocacy group, say?")]
    alone = retriever.ask(follow_up)
    after = retriever.ask(follow_up, after=earlier)
    assert after.question == follow_up  # the asker's words, as asked
    assert after.hits, "the conversation found the passage"
    assert "Juntos" in after.hits[0].passage.text
    assert not alone.hits or "Juntos" not in alone.hits[0].passage.text


def test_a_self_contained_question_after_an_unrelated_turn_keeps_its_own_answer(retriever: Retriever):
    question = "When does the contract expire?"
    alone = retriever.ask(question)
    after = retriever.ask(question, after=[Turn("sourdough bread baking tips")])
    assert [hit.passage for hit in after.hits] == [hit.passage for hit in alone.hits]


def test_ask_after_earlier_questions_from_the_command_line(retriever: Retriever):
    out = io.StringIO()
    earlier = ["What does Juntos, the immigrant advocacy group, say?"]
    ask(retriever, ["What did he tell reporters?"], out, k=1, as_json=True, after=earlier)
    [row] = [json.loads(line) for line in out.getvalue().splitlines()]
    assert row["question"] == "What did he tell reporters?"
    assert "Juntos" in row["passages"][0]["text"]


def test_the_terminal_chat_is_a_conversation_at_the_prompt_and_piped_lines_are_not(
    retriever: Retriever,
):
    lines = ["What does Juntos, the immigrant advocacy group, say?\n", "What did he tell reporters?\n"]
    at_prompt, piped = io.StringIO(), io.StringIO()
    chat(retriever, lines, at_prompt, prompt=True)
    chat(retriever, lines, piped, prompt=False)
    second_at_prompt = at_prompt.getvalue().split("> ")[2]
    second_piped = piped.getvalue().split("Q: ")[2]
    assert "Juntos" in second_at_prompt.split("\n\n")[1]  # the first passage: Juntos's statement
    assert "Juntos" not in second_piped.split("\n\n")[1]
