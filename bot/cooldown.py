"""A per-user limit on how often questions are answered, shared by every way of asking."""

from __future__ import annotations

import time
from collections.abc import Callable

_PRUNE_ABOVE = 10_000  # users remembered before expired entries are dropped


class Cooldown:
    """One question per user every `seconds` (0: no limit). The clock is injectable for tests."""

    def __init__(self, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        self.seconds = seconds
        self._clock = clock
        self._last: dict[int, float] = {}

    def retry_after(self, user_id: int) -> float:
        """0 when `user_id` may ask now (and the question is counted), else the seconds to wait."""
        if self.seconds <= 0:
            return 0.0
        now = self._clock()
        last = self._last.get(user_id)
        if last is not None and now - last < self.seconds:
            return self.seconds - (now - last)
        if len(self._last) >= _PRUNE_ABOVE:
            self._last = {user: at for user, at in self._last.items() if now - at < self.seconds}
        self._last[user_id] = now
        return 0.0
