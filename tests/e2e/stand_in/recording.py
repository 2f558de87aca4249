"""What the stand-in saw (every REST exchange, invalid bodies) and waiting for what it sees."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .api import UploadedFile


@dataclass(frozen=True)
class RecordedRequest:
    """One REST request and the answer it got.

    ``path`` is the API path without ``/api/v10`` (``/channels/1/messages``), or a CDN path
    (``/attachments/...``); ``route`` the template it matched (``/channels/{channel_id}/messages``,
    None for an unknown route); ``body`` is the parsed JSON (the ``payload_json`` part of a
    multipart body), None when there was none.
    """

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: Any
    operation: str | None  # the spec's operationId; None when the spec has no such route
    received_at: float  # time.monotonic()
    answered_at: float
    status: int
    response: Any
    fault: str | None = None  # set when an injected fault produced the answer
    files: tuple[UploadedFile, ...] = ()  # the ``files[n]`` parts of a multipart body
    route: str | None = None

    def matches(self, method: str, pattern: str) -> bool:
        """Whether this is ``method`` on a path matching ``pattern`` (see ``path_matches``)."""
        return self.method == method.upper() and path_matches(pattern, self.path)

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.status}"


@dataclass(frozen=True)
class ValidationFailure:
    """A request body the spec or Discord's limits reject."""

    method: str
    path: str
    operation: str
    errors: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.operation}): " + "; ".join(self.errors)


def path_matches(pattern: str, path: str) -> bool:
    """Whether ``path`` fits ``pattern``: a ``{name}`` segment matches any one segment,
    other segments must be equal, e.g. ``/interactions/{id}/{token}/callback``."""
    wanted = pattern.strip("/").split("/")
    actual = path.split("?", 1)[0].strip("/").split("/")
    if len(wanted) != len(actual):
        return False
    return all(w == a or (w.startswith("{") and w.endswith("}")) for w, a in zip(wanted, actual, strict=True))


_POLL_SECONDS = 0.01


# The waits below take ``timeout`` (ruff's ASYNC109 prefers asyncio.timeout) because on
# expiry they raise a TimeoutError that says what was awaited and what was seen instead.


class Changes:
    """Lets coroutines wait until a condition over the stand-in's state holds."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        """Wake every waiter to re-check its condition."""
        self._event.set()
        self._event = asyncio.Event()

    async def wait_until(
        self,
        condition: Callable[[], Any],
        timeout: float,  # noqa: ASYNC109
        describe: Callable[[], str],
    ) -> Any:
        """The first truthy value of ``condition()``; TimeoutError with ``describe()`` after
        ``timeout`` seconds."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not (result := condition()):
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(describe())
            # Also poll: conditions may look at client-side state the stand-in is not told of.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), min(remaining, _POLL_SECONDS))
        return result
