"""Conversations with the bot, for follow-up questions: a DM's recent questions, or a chain of
replies to the bot's answers. Kept in memory, bounded: the last questions of each (the context
`index.conversation` reads), forgotten after a while, and at most so many conversations.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

from index.conversation import MAX_TURNS

DM_MINUTES = 10  # a DM's questions follow each other when asked within this
CHAIN_MINUTES = 30  # a reply to an answer continues its conversation for this long
MAX_CONVERSATIONS = 10_000
MAX_ANSWERS = 20_000  # answers remembered, so a reply to one finds its conversation


@dataclass
class _Conversation:
    turns: deque[tuple[float, str]] = field(default_factory=lambda: deque(maxlen=MAX_TURNS - 1))
    last: float = 0.0


class Conversations:
    """What each conversation asked last. The clock is injectable for tests."""

    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, capacity: int = MAX_CONVERSATIONS
    ) -> None:
        self._clock = clock
        self._capacity = capacity
        self._conversations: OrderedDict[Hashable, _Conversation] = OrderedDict()
        self._answers: OrderedDict[int, Hashable] = OrderedDict()  # answer message id → conversation

    def earlier(self, key: Hashable, *, minutes: float) -> list[str]:
        """The conversation's earlier questions, oldest first, if its last was asked within
        `minutes`; else none (and it starts afresh)."""
        conversation = self._conversations.get(key)
        if conversation is None or self._clock() - conversation.last > minutes * 60:
            return []
        return [question for _, question in conversation.turns]

    def add(self, key: Hashable, question: str, *, answer_id: int | None = None) -> None:
        """Remember that `key` asked `question` (answered by the message `answer_id`, when known)."""
        now = self._clock()
        conversation = self._conversations.pop(key, None) or _Conversation()
        conversation.turns.append((now, question))
        conversation.last = now
        self._conversations[key] = conversation  # most recent last
        while len(self._conversations) > self._capacity:
            self._conversations.popitem(last=False)
        if answer_id is not None:
            self._answers[answer_id] = key
            while len(self._answers) > MAX_ANSWERS:
                self._answers.popitem(last=False)

    def of_answer(self, message_id: int) -> Hashable | None:
        """The conversation the bot's answer `message_id` belongs to, if it is remembered."""
        return self._answers.get(message_id)

    def __len__(self) -> int:
        return len(self._conversations)
