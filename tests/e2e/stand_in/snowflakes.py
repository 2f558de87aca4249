"""Discord snowflake ids and timestamps as Discord formats them."""

from __future__ import annotations

import datetime
import itertools
import time

DISCORD_EPOCH_MS = 1_420_070_400_000


class Snowflakes:
    """Hands out increasing snowflakes whose timestamp part is the current time."""

    def __init__(self) -> None:
        self._increment = itertools.count()

    def next(self) -> int:
        """A fresh id, unique within this process's stand-in."""
        now_ms = int(time.time() * 1000)
        return ((now_ms - DISCORD_EPOCH_MS) << 22) | (next(self._increment) & 0x3FFFFF)


def iso_timestamp(when: datetime.datetime | None = None) -> str:
    """An ISO 8601 timestamp with microseconds and ``+00:00``, the way Discord writes them."""
    when = when or datetime.datetime.now(datetime.UTC)
    return when.astimezone(datetime.UTC).isoformat(timespec="microseconds")
