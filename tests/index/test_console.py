"""The terminal face: readable answers, the chat loop and `ask` output (with the fake embedder)."""

from __future__ import annotations

import io
import json
import time

from index.answer import Answer
from index.console import NOT_COVERED, ask, chat, format_answer
from index.retriever import EMPTY_QUESTION, SHORTENED_QUESTION, Retriever

QUESTIONS = ["What does Juntos, the immigrant advocacy group, say?", "sourdough bread baking tips"]


def test_format_answer_cites_each_passage_and_marks_the_key_sentence(retriever: Retriever):
    answer = retriever.ask("Will the city release inmates to ICE without a judicial warrant?", k=2)

    text = format_answer(answer)

    first = answer.hits[0]
    assert first.passage.citation == "Philadelphia To Stop Giving ICE Real-Time Arrest Data · ¶5"
    assert first.key_sentence == "It won't release inmates to ICE without a judicial warrant."
    assert f"1. [{first.passage.citation}]" in text
    assert f"2. [{answer.hits[1].passage.citation}]" in text
    assert f"**{first.key_sentence}**" in text
    assert "\033[" not in text
    assert f"\033[1m{first.key_sentence}\033[0m" in format_answer(answer, color=True)


def test_a_one_sentence_passage_is_marked_whole(retriever: Retriever):
    answer = retriever.ask("When does the contract expire?", k=1)
    passage = answer.hits[0].passage.text
    assert answer.hits[0].key_sentence == passage

    assert f"**{passage}**" in format_answer(answer)


def test_a_low_answer_shows_the_first_three_key_sentences_with_their_citations(retriever: Retriever):
    answer = retriever.ask("Will the city release inmates to ICE without a judicial warrant?", k=4)
    low = Answer(answer.question, "low", answer.hits)

    lines = format_answer(low).splitlines()

    assert lines[0] == "Closest passages — they may not answer this:"
    assert lines[1:] == [
        f"{n}. [{h.passage.citation}] **{h.key_sentence}**" for n, h in enumerate(low.hits[:3], 1)
    ]


def test_format_answer_for_no_passages():
    assert format_answer(Answer("What is the capital of France?", "none", ())) == NOT_COVERED
    assert format_answer(Answer("", "none", (), notice=EMPTY_QUESTION)) == EMPTY_QUESTION


def test_a_shortened_question_that_the_article_does_not_cover_says_both():
    text = format_answer(Answer("sourdough " * 50, "none", (), notice=SHORTENED_QUESTION))

    assert SHORTENED_QUESTION in text
    assert NOT_COVERED in text


def test_ask_as_json_writes_one_line_per_question_in_order(retriever: Retriever):
    out = io.StringIO()

    ask(retriever, [f"{q}\n" for q in QUESTIONS], out, k=2, as_json=True)

    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [row["question"] for row in rows] == QUESTIONS
    for row in rows:
        assert set(row) == {"question", "confidence", "passages", "took_ms"}
        assert row["confidence"] in {"high", "low", "none"}
        assert isinstance(row["took_ms"], float)
        assert len(row["passages"]) <= 2
        for passage in row["passages"]:
            assert set(passage) == {"text", "score", "article", "paragraph", "url"}
            assert passage["url"] is None  # the shipped article's file names no web page
            assert isinstance(passage["score"], float)
            assert isinstance(passage["paragraph"], int)
    assert rows[0]["passages"][0]["paragraph"] == 16
    assert rows[1] == {**rows[1], "confidence": "none", "passages": []}


def test_ask_times_each_question_on_its_own(retriever: Retriever, monkeypatch):
    embed = retriever.embedder.embed

    def slow_for_one(texts, **options):
        if any("slowly" in text for text in texts):
            time.sleep(0.2)
        return embed(texts, **options)

    monkeypatch.setattr(retriever.embedder, "embed", slow_for_one)
    out = io.StringIO()

    ask(retriever, [QUESTIONS[0], "Who answered slowly?", QUESTIONS[1]], out, k=1, as_json=True)

    took = [json.loads(line)["took_ms"] for line in out.getvalue().splitlines()]
    assert took[1] >= 200  # the slow question's own time, not shared out with the others
    assert took[0] < 200
    assert took[2] < 200


def test_ask_as_text(retriever: Retriever):
    out = io.StringIO()

    ask(retriever, QUESTIONS * 3, out, k=1, as_json=False)

    text = out.getvalue()
    assert text.count(f"Q: {QUESTIONS[0]}\n") == 3
    assert text.count(NOT_COVERED) == 3


def test_chat_answers_each_non_blank_line_until_the_input_ends(retriever: Retriever):
    out = io.StringIO()

    chat(retriever, [QUESTIONS[0] + "\n", "\n", QUESTIONS[1] + "\n"], out, prompt=False)

    text = out.getvalue()
    assert "> " not in text
    assert text.count("1. [") == 1
    assert NOT_COVERED in text


def test_chat_with_a_prompt_prompts_before_each_question(retriever: Retriever):
    out = io.StringIO()

    chat(retriever, [QUESTIONS[1] + "\n"], out, prompt=True)

    assert out.getvalue() == f"> {NOT_COVERED}\n\n> \n"


def test_a_passage_of_an_article_from_the_web_is_cited_with_its_page():
    from index.answer import Hit
    from index.passages import Passage

    passage = Passage(
        "The bridge reopened.", "Bridge Reopens", "bridge.txt", 1, "body", 0, url="https://news.example/b"
    )
    text = format_answer(Answer("when?", "high", (Hit(passage, 1.0, "The bridge reopened."),)))
    assert "1. [Bridge Reopens · ¶1] https://news.example/b" in text
