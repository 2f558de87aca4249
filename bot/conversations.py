"""Conversations with the bot, for follow-up questions: a DM's recent questions, a thread the bot
started, or a chain of replies to the bot's answers. Kept in memory, bounded: the last questions of
each (the context `index.conversation` reads), forgotten after a while, and at most so many
conversations. A restart forgets them: the next question starts afresh.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field

from index.conversation import MAX_TURNS, Turn

DM_MINUTES = 10  # a DM's questions follow each other when asked within this
CHAIN_MINUTES = 30  # a reply to an answer, or a thread's question, continues it for this long
MAX_CONVERSATIONS = 10_000
MAX_PLACES = 20_000  # answers and threads remembered, so a reply or a thread finds its conversation


@dataclass
class _Conversation:
    turns: deque[Turn] = field(default_factory=lambda: deque(maxlen=MAX_TURNS - 1))
    last: float = 0.0


class Conversations:
    """What each conversation asked last. The clock is injectable for tests."""

    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, capacity: int = MAX_CONVERSATIONS
    ) -> None:
        self._clock = clock
        self._capacity = capacity
        self._conversations: OrderedDict[Hashable, _Conversation] = OrderedDict()
        # the id of an answer's message, or of a thread → the conversation it continues
        self._places: OrderedDict[int, Hashable] = OrderedDict()

    def earlier(self, key: Hashable, *, minutes: float) -> list[Turn]:
        """The conversation's earlier turns, oldest first, if its last was asked within `minutes`;
        else none (and it starts afresh)."""
        conversation = self._conversations.get(key)
        if conversation is None or self._clock() - conversation.last > minutes * 60:
            return []
        return list(conversation.turns)

    def add(self, key: Hashable, turn: Turn, *, places: Iterable[int] = ()) -> None:
        """Remember that `key` asked `turn` (its question and the passage shown first); a question
        asked at any of `places` (a reply to the answer's message, a message in the thread it was
        answered in) continues it."""
        now = self._clock()
        conversation = self._conversations.pop(key, None) or _Conversation()
        conversation.turns.append(turn)
        conversation.last = now
        self._conversations[key] = conversation  # most recent last
        while len(self._conversations) > self._capacity:
            self._conversations.popitem(last=False)
        for place in places:
            self._places.pop(place, None)
            self._places[place] = key  # most recent last
        while len(self._places) > MAX_PLACES:
            self._places.popitem(last=False)

    def continued_at(self, place: int) -> Hashable | None:
        """The conversation that the bot's answer, or the thread, with id `place` belongs to, if
        it is remembered."""
        return self._places.get(place)

    def __len__(self) -> int:
        return len(self._conversations)
