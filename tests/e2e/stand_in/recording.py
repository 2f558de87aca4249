"""What the stand-in saw: every REST exchange, invalid bodies, unexpected routes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .api import UploadedFile


@dataclass(frozen=True)
class RecordedRequest:
    """One REST request and the answer it got.

    ``path`` is the API path without ``/api/v10`` (``/channels/1/messages``); ``body`` is the
    parsed JSON (the ``payload_json`` part of a multipart body), None when there was none.
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
