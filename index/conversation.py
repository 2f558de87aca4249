"""Follow-up questions: asking a question as the next turn of a conversation.

"When did he say the contract started?" means little alone. A question that looks like a
follow-up (a word that refers back, a continuing start, too few words of its own) is asked twice,
in one embedding call: as it is, and after the previous question ("Who is the city solicitor? When
did he say…"); the context's answer is kept when the scorer's calibrated probability that its first
passage answers is clearly higher, and an unsure answer puts the passage the previous answer showed
first at its top when it is near: most follow-ups ask more about it. A self-contained question is
answered as it is. How this was chosen among the other ways (all the turns, the previous answer's
passage as text, weighted vectors, blended rankings): `python -m bench.followups` on development
sets, judged on a blind one (docs/retrieval.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from index.lexical import STOPWORDS, WORD
from index.passages import Passage

if TYPE_CHECKING:
    from index.answer import Answer
    from index.retriever import Found

MAX_TURNS = 3  # a conversation's memory: the last questions kept as context, this one included

# Words that point back at something said before (a person, a thing, a time, a place).
REFERRING = frozenset(
    "he she it they him her them his hers its their theirs this that these those there then".split()
)
# How an elliptical turn starts: it continues the previous one ("and the police?", "what about…").
CONTINUING = ("and ", "also ", "so ", "but ", "what about ", "how about ", "what of ")
SHORT = 2  # content words at most: "when?", "how much?", "the other one?"


def looks_like_a_follow_up(question: str) -> bool:
    """Whether `question` seems to lean on an earlier turn: a word that refers back, a start that
    continues, or too few words of its own to stand alone. Rules about the shape of English
    questions, never about an article's words."""
    text = " ".join(question.lower().split())
    words = WORD.findall(text)
    content = [word for word in words if word not in STOPWORDS]
    return bool(REFERRING.intersection(words)) or text.startswith(CONTINUING) or len(content) <= SHORT


class Turn(NamedTuple):
    """An earlier question of a conversation, and the passage its answer showed first (None when it
    showed none)."""

    question: str
    shown: Passage | None = None


def turn_of(answer: Answer) -> Turn:
    """`answer`'s question as an earlier turn of its conversation."""
    return Turn(answer.question, answer.hits[0].passage if answer.hits else None)


# Chosen on the development sets (data/benchmark/followups-dev, followups, followups-blind2,
# followups-blind3), cross-validated by set (docs/retrieval.md), and frozen before a new blind set.
CONTEXT_MARGIN = 0.05  # how much more likely to answer the context's answer must be to be kept
UNSURE = 0.3  # below this likelihood, an answer defers to the passage the conversation was about
SHOWN_WITHIN = 3  # ...when that passage is among its first this many


def in_context(question: str, earlier: Sequence[Turn]) -> str | None:
    """The question as the next turn after `earlier` (oldest first): the previous question, then
    this one; None without earlier turns, or when the question doesn't look like a follow-up
    (then it is answered as it is, and the context can't drag it back to the previous topic)."""
    previous = [turn.question.strip() for turn in earlier[-(MAX_TURNS - 1) :] if turn.question.strip()]
    if not previous or not looks_like_a_follow_up(question):
        return None
    return f"{previous[-1]} {question}"


def in_turn(alone: Found, with_context: Found | None, shown: Passage | None, k: int) -> Found:
    """The answer to a question asked in context: the context's answer when the scorer finds it
    clearly more likely to answer (`CONTEXT_MARGIN`), else the question's own; and when that answer
    is unsure, the passage the previous answer showed first, `shown`, goes first if it is near the
    top: most follow-ups ask more about it."""
    if with_context is None:
        return alone._replace(hits=alone.hits[:k])
    chosen = with_context if with_context.correct >= alone.correct + CONTEXT_MARGIN else alone
    hits = list(chosen.hits)
    if shown is not None and chosen.correct < UNSURE:
        near = [position for position, hit in enumerate(hits[:SHOWN_WITHIN]) if hit.passage == shown]
        if near:
            hits.insert(0, hits.pop(near[0]))
    return chosen._replace(hits=hits[:k])
