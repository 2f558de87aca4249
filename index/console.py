"""The terminal face of the product: readable answers, the chat loop and the `ask` command."""

from __future__ import annotations

import json
import sys
from collections import deque
from collections.abc import Iterable, Sequence
from typing import TextIO

from index.answer import Answer
from index.conversation import MAX_TURNS, Turn, turn_of
from index.retriever import Retriever

_CONFIDENCE_WORDS = {
    "high": "Best match",
    "low": "Closest passages — they may not answer this",
}
NOT_COVERED = "The article doesn't seem to cover that. Try asking about something it reports."


def format_answer(answer: Answer, *, color: bool = False) -> str:
    """An answer as plain text: confidence, then each passage with its citation, the key sentence
    wrapped in ** (or bold on a colour terminal); a "low" answer shows only the key sentences."""
    if not answer.hits:
        if answer.notice and not answer.question:
            return answer.notice  # an empty question: the notice says what to do
        return "\n".join(line for line in (answer.notice, NOT_COVERED) if line)
    bold, plain = ("\033[1m", "\033[0m") if color else ("**", "**")
    lines = [_CONFIDENCE_WORDS[answer.confidence] + ":"]
    if answer.notice:
        lines.insert(0, answer.notice)
    if answer.confidence == "low":  # the first three, compactly: the answer is often not first
        for number, hit in enumerate(answer.hits[:3], start=1):
            lines.append(f"{number}. [{hit.passage.citation}] {bold}{hit.key_sentence}{plain}")
        return "\n".join(lines)
    for number, hit in enumerate(answer.hits, start=1):
        text = hit.passage.text
        if hit.key_sentence and hit.key_sentence in text:
            text = text.replace(hit.key_sentence, f"{bold}{hit.key_sentence}{plain}", 1)
        source = f" {hit.passage.url}" if hit.passage.url else ""  # the article's web page
        lines.append(f"\n{number}. [{hit.passage.citation}]{source}\n   {text}")
    return "\n".join(lines)


def chat(retriever: Retriever, lines: Iterable[str], out: TextIO, *, prompt: bool) -> None:
    """Answer one question per line until the input ends. At the prompt it is a conversation, as
    a DM with the bot is: each question is the next turn after the last ones; piped lines are
    separate questions."""
    color = prompt and out.isatty()
    turns: deque[Turn] = deque(maxlen=MAX_TURNS - 1)
    if prompt:
        out.write("> ")
        out.flush()
    for line in lines:
        if line.strip():
            answer = retriever.ask(line, after=list(turns))
            if prompt and answer.question:
                turns.append(turn_of(answer))
            # piped, the questions aren't on the screen: say which one each answer answers
            echo = "" if prompt else f"Q: {answer.question}\n"
            out.write(echo + format_answer(answer, color=color) + "\n\n")
        if prompt:
            out.write("> ")
        out.flush()
    if prompt:
        out.write("\n")


def ask(
    retriever: Retriever,
    questions: Iterable[str],
    out: TextIO,
    *,
    k: int,
    as_json: bool,
    after: Sequence[str] = (),
) -> None:
    """Answer `questions` in order, JSON lines or readable text, each as soon as it is answered;
    each as the next turn after the questions `after` (oldest first), themselves answered first in
    turn, as the bot would have, so their passages are known.

    One at a time, so each answer's `took_ms` is that question's own time (a batch can only share
    its time out): 5.1 ms a question here against 3.6 batched, docs/benchmarks.md.
    """
    turns: list[Turn] = []
    for earlier in after:
        turns.append(turn_of(retriever.ask(earlier, k, after=turns)))
    for question in questions:
        answer = retriever.ask(question.rstrip("\n"), k, after=turns)
        if as_json:
            out.write(json.dumps(answer.to_json(), ensure_ascii=False) + "\n")
        else:
            out.write(f"Q: {answer.question}\n{format_answer(answer)}\n\n")
        out.flush()


def stdin_questions() -> Iterable[str]:
    """Lines of standard input, skipping blank ones."""
    return (line for line in sys.stdin if line.strip())
