"""What REST handlers take (``Call``) and give (``Reply`` or a raised ``ApiError``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# JSON error codes (https://discord.com/developers/docs/topics/opcodes-and-status-codes).
UNKNOWN_CHANNEL = 10003
UNKNOWN_MESSAGE = 10008
UNKNOWN_WEBHOOK = 10015
UNKNOWN_APPLICATION_COMMAND = 10063
UNKNOWN_INTERACTION = 10062
UNKNOWN_MEMBER = 10007
MISSING_ACCESS = 50001
CANNOT_EDIT_OTHERS_MESSAGE = 50005
CANNOT_SEND_EMPTY_MESSAGE = 50006
MISSING_PERMISSIONS = 50013
INVALID_CHANNEL_TYPE = 50024
INVALID_FORM_BODY = 50035
THREAD_ARCHIVED = 50083
THREAD_ALREADY_CREATED = 160004
ALREADY_ACKNOWLEDGED = 40060


@dataclass(frozen=True)
class UploadedFile:
    """One ``files[n]`` part of a multipart request."""

    field: str
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Call:
    """A REST request as handlers see it: ``params`` are the spec template's path parameters."""

    method: str
    path: str
    params: Mapping[str, str]
    query: Mapping[str, str]
    body: Any
    files: tuple[UploadedFile, ...] = ()

    def param_id(self, name: str) -> int:
        """A snowflake path parameter as an int; a malformed one is Discord's 404."""
        try:
            return int(self.params[name])
        except ValueError:
            raise ApiError(404, 0, "404: Not Found") from None


@dataclass(frozen=True)
class Reply:
    """A successful answer; ``body`` None means 204 No Content."""

    status: int
    body: Any = None


class ApiError(Exception):
    """An error answer in Discord's shape: ``{"message": ..., "code": ...}``."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(f"{status} {message} (code {code})")
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        """The JSON body Discord sends for this error."""
        return {"message": self.message, "code": self.code}


class InvalidBody(ApiError):
    """A body Discord refuses with 50035 Invalid Form Body; recorded as a validation failure."""

    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__(400, INVALID_FORM_BODY, "Invalid Form Body")
        self.errors = tuple(errors)

    def body(self) -> dict[str, Any]:
        """Discord's nested ``errors`` object, one entry per problem."""
        return {**super().body(), "errors": invalid_form_errors(self.errors)}


class ProtocolViolation(ApiError):
    """A request real Discord refuses because of how the bot used the API (answering an
    interaction twice or too late, following up before acknowledging); recorded as a problem."""

    def __init__(self, status: int, code: int, message: str, problem: str) -> None:
        super().__init__(status, code, message)
        self.problem = problem


def invalid_form_errors(errors: Sequence[str]) -> dict[str, Any]:
    """``errors`` in the nested shape discord.py flattens into its exception text."""
    return {"stand_in": {"_errors": [{"code": "STAND_IN_INVALID", "message": e} for e in errors]}}


Handler = Callable[[Call], Reply]
Emit = Callable[..., int | None]
