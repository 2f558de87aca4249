"""Follow-up questions: asking a question as the next turn of a conversation.

"When did he say the contract started?" means little alone. The question is asked twice, in one
embedding call: as it is, and after the previous question ("Who is the city solicitor? When did he
say…"). The answer kept is the one the scorer thinks more likely right (its calibrated probability
that the first passage answers), so a self-contained question keeps its own answer unless the
context finds a better-supported one. How this was chosen among the other ways (all the turns, the
previous answer's passage, weighted vectors): `python -m bench.followups`, docs/retrieval.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from index.retriever import Found

MAX_TURNS = 3  # a conversation's memory: the last questions kept as context, this one included


def in_context(question: str, earlier: Sequence[str]) -> str | None:
    """The question as the next turn after `earlier` (oldest first): the previous question, then
    this one; None without earlier turns."""
    previous = [turn.strip() for turn in earlier[-(MAX_TURNS - 1) :] if turn.strip()]
    if not previous:
        return None
    return f"{previous[-1]} {question}"


def better(alone: Found, with_context: Found | None) -> Found:
    """The answer to keep: the one more likely to answer (ties: the question as asked)."""
    if with_context is None or alone.correct >= with_context.correct:
        return alone
    return with_context
