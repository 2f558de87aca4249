"""Injected REST faults: rate limits, server errors, unknown interactions, slow answers.

Answers copy what Discord sends, down to the headers discord.py reads: a 429 carries
``retry_after`` and ``global`` in its JSON, ``Retry-After`` and ``X-RateLimit-*`` headers, and a
``Via`` header — without ``Via`` discord.py takes a 429 for a Cloudflare ban and gives up.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .recording import path_matches

UNKNOWN_INTERACTION = 10062


@dataclass(frozen=True)
class Fault:
    """Answer requests for ``method`` on ``pattern`` with ``status`` (None: answer normally)
    after ``delay`` seconds, ``times`` times (None: every time)."""

    method: str
    pattern: str
    status: int | None
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    times: int | None = 1

    def matches(self, method: str, path: str) -> bool:
        """Whether the fault applies to this request."""
        return self.method == method.upper() and path_matches(self.pattern, path)

    def describe(self) -> str:
        """A short label for the request log."""
        what = "delay" if self.status is None else f"status {self.status}"
        return f"{what} (+{self.delay:.2f}s) for {self.method} {self.pattern}"


class FaultPlan:
    """The faults still to be served, first added first matched."""

    def __init__(self) -> None:
        self._pending: list[list[Any]] = []  # [fault, remaining or None]

    def add(self, fault: Fault) -> Fault:
        """Schedule ``fault``."""
        self._pending.append([fault, fault.times])
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The fault for this request, counting it as served; None when none applies."""
        for entry in self._pending:
            fault, remaining = entry
            if fault.matches(method, path) and (remaining is None or remaining > 0):
                if remaining is not None:
                    entry[1] = remaining - 1
                return fault
        return None

    def remaining(self) -> list[tuple[Fault, int | None]]:
        """Faults that have not been served up; a test can assert this is empty."""
        return [(f, n) for f, n in self._pending if n is None or n > 0]

    def clear(self) -> None:
        """Drop every pending fault."""
        self._pending.clear()


def rate_limit(
    method: str,
    pattern: str,
    *,
    retry_after: float = 0.1,
    is_global: bool = False,
    times: int = 1,
) -> Fault:
    """A 429 exactly as Discord sends it, for a per-route (or ``is_global``) limit."""
    body = {
        "message": "You are being rate limited.",
        "retry_after": retry_after,
        "global": is_global,
    }
    headers = {
        "Retry-After": str(math.ceil(retry_after)),
        "X-RateLimit-Scope": "global" if is_global else "user",
    }
    if is_global:
        headers["X-RateLimit-Global"] = "true"
    else:
        headers.update(
            {
                "X-RateLimit-Limit": "5",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
                "X-RateLimit-Reset-After": f"{retry_after:.3f}",
                "X-RateLimit-Bucket": "stand-in-limited",
            }
        )
    return Fault(method.upper(), pattern, 429, body, headers, times=times)


def server_error(method: str, pattern: str, *, status: int = 500, times: int = 1) -> Fault:
    """A 5xx with Discord's error body; discord.py retries 500, 502, 504 and 524."""
    body = {"message": f"{status}: Internal Server Error", "code": 0}
    return Fault(method.upper(), pattern, status, body, times=times)


def unknown_interaction(
    pattern: str = "/interactions/{interaction_id}/{interaction_token}/callback", *, times: int = 1
) -> Fault:
    """The 404 Discord sends when an interaction token expired or was already used up."""
    body = {"message": "Unknown interaction", "code": UNKNOWN_INTERACTION}
    return Fault("POST", pattern, 404, body, times=times)


def slow(method: str, pattern: str, seconds: float, *, times: int | None = 1) -> Fault:
    """Answer normally, but only after ``seconds``."""
    return Fault(method.upper(), pattern, None, delay=seconds, times=times)
