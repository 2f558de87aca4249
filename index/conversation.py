"""Follow-up questions: asking a question as the next turn of a conversation.

"When did he say the contract started?" means little alone. A question that looks like a
follow-up (a word that refers back, a continuing start, too few words of its own) is asked twice,
in one embedding call: as it is, and after the previous question ("Who is the city solicitor? When
did he say…"); the context's answer is kept only when the scorer's calibrated probability that its
first passage answers is clearly higher. A self-contained question is answered as it is. How this
was chosen among the other ways (all the turns, the previous answer's passage, weighted vectors):
`python -m bench.followups` on a development set, judged on a blind one (docs/retrieval.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from index.lexical import STOPWORDS, WORD

if TYPE_CHECKING:
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


# How much more likely to answer the context must make the first passage for its answer to be
# kept: chosen on the development set (data/benchmark/followups-dev), where 0.05–0.20 did alike.
CONTEXT_MARGIN = 0.10


def in_context(question: str, earlier: Sequence[str]) -> str | None:
    """The question as the next turn after `earlier` (oldest first): the previous question, then
    this one; None without earlier turns, or when the question doesn't look like a follow-up
    (then it is answered as it is, and the context can't drag it back to the previous topic)."""
    previous = [turn.strip() for turn in earlier[-(MAX_TURNS - 1) :] if turn.strip()]
    if not previous or not looks_like_a_follow_up(question):
        return None
    return f"{previous[-1]} {question}"


def better(alone: Found, with_context: Found | None) -> Found:
    """The answer to keep: the context's only when it is clearly more likely to answer."""
    if with_context is None or with_context.correct < alone.correct + CONTEXT_MARGIN:
        return alone
    return with_context
