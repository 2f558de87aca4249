"""Sharding: which shard receives a guild's events, and Discord's limits on starting sessions.

From Discord's gateway documentation (``developers/events/gateway.mdx`` in discord-api-docs:
"Identifying", "Rate Limiting", "Sharding", "Session Start Limit Object"):

- A guild's events go to shard ``(guild_id >> 22) % num_shards``; events without a guild (DMs)
  go to shard 0 only.
- ``GET /gateway/bot`` reports the recommended ``shards`` and a ``session_start_limit``:
  ``total`` IDENTIFYs per period (1000 a day for most bots), ``remaining``, ``reset_after`` (ms
  until ``remaining`` is back to ``total``) and ``max_concurrency``.
- IDENTIFY is rate-limited per key ``shard_id % max_concurrency``: shards with different keys
  may identify together, two with the same key must be 5 seconds apart. "If your app exceeds
  this limit, Discord will respond with a Invalid Session (opcode 9)". RESUME does not count.
- "Upon hitting this limit [the daily total], all active sessions for the app will be
  terminated, the bot token will be reset".

An IDENTIFY refused for coming too fast still uses up one of the day's session starts, as bot
developers report (discord/discord-api-docs#1328: refused IDENTIFYs "chew through the daily
IDENTIFY limit"). Discord sends that INVALID_SESSION "after a few seconds"; the stand-in sends
it at once.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable

DAY_SECONDS = 86_400.0
IDENTIFY_WINDOW_SECONDS = 5.0


def shard_of(guild_id: int | None, shard_count: int) -> int:
    """The shard that receives events of ``guild_id`` (None: a DM, which goes to shard 0)."""
    if guild_id is None:
        return 0
    return (guild_id >> 22) % shard_count


class IdentifyVerdict(enum.Enum):
    """What Discord does with an IDENTIFY, as far as the session start limit goes."""

    ACCEPTED = "accepted"
    TOO_FAST = "too fast"  # INVALID_SESSION (op 9, d=false)
    LIMIT_EXHAUSTED = "limit exhausted"  # every session ends, the token is reset


class SessionStartLimit:
    """The session start limit of one bot: ``total`` IDENTIFYs per ``period`` seconds, and one
    IDENTIFY per rate-limit key (``shard_id % max_concurrency``) per ``window`` seconds,
    measured on ``clock`` (monotonic; injectable for tests)."""

    def __init__(
        self,
        *,
        total: int = 1000,
        max_concurrency: int = 1,
        window: float = IDENTIFY_WINDOW_SECONDS,
        period: float = DAY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if total < 1 or max_concurrency < 1:
            raise ValueError(f"total ({total}) and max_concurrency ({max_concurrency}) must be 1 or more")
        if window < 0 or period <= 0:
            raise ValueError(f"window ({window}) must be 0 or more and period ({period}) positive")
        self.total = total
        self.max_concurrency = max_concurrency
        self.window = window
        self.period = period
        self.remaining = total
        self._clock = clock
        self._period_start = clock()
        self._accepted_at: dict[int, float] = {}  # rate-limit key -> its last accepted IDENTIFY

    def rate_limit_key(self, shard_id: int) -> int:
        """The bucket of ``shard_id``: shards with different keys may identify together."""
        return shard_id % self.max_concurrency

    def wait_before_identify(self, shard_id: int) -> float:
        """Seconds until ``shard_id`` may identify without being refused (0.0: now)."""
        accepted_at = self._accepted_at.get(self.rate_limit_key(shard_id))
        if accepted_at is None:
            return 0.0
        return max(0.0, accepted_at + self.window - self._clock())

    def identify(self, shard_id: int) -> IdentifyVerdict:
        """Count one IDENTIFY of ``shard_id`` and say what Discord makes of it."""
        self._start_new_period_if_due()
        if self.remaining == 0:
            return IdentifyVerdict.LIMIT_EXHAUSTED
        self.remaining -= 1
        if self.wait_before_identify(shard_id) > 0:
            return IdentifyVerdict.TOO_FAST
        self._accepted_at[self.rate_limit_key(shard_id)] = self._clock()
        return IdentifyVerdict.ACCEPTED

    def payload(self) -> dict[str, int]:
        """The session start limit object of ``GET /gateway/bot``."""
        self._start_new_period_if_due()
        reset_after = self._period_start + self.period - self._clock()
        return {
            "total": self.total,
            "remaining": self.remaining,
            "reset_after": max(0, round(reset_after * 1000)),
            "max_concurrency": self.max_concurrency,
        }

    def _start_new_period_if_due(self) -> None:
        now = self._clock()
        if now - self._period_start >= self.period:
            self._period_start = now
            self.remaining = self.total
