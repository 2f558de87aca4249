"""Discord's CDN for files users attach to slash commands: the ``Upload`` a test attaches, the
attachment object the interaction carries, and the bytes served back at that object's URL.

Discord serves such files from ``cdn.discordapp.com``; here ``url`` and ``proxy_url`` point at
the stand-in itself (``CDN_ROUTE``), because discord.py's ``Attachment.read()`` fetches the
absolute URL it was given. Downloads are recorded like REST requests, without the bot token.
"""

from __future__ import annotations

import mimetypes
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .snowflakes import Snowflakes

CDN_ROUTE = "/attachments/{channel_id}/{attachment_id}/{filename}"


@dataclass(frozen=True)
class Upload:
    """A file a user attaches to an attachment option (type 11).

    ``content_type`` defaults to a guess from the filename. ``size`` is the size Discord
    reports (default ``len(data)``): declare a large one to test a size limit without building a
    buffer that large; the CDN still serves ``data``.
    """

    filename: str
    data: bytes
    content_type: str | None = None
    size: int | None = None

    def __post_init__(self) -> None:
        if not self.filename or "/" in self.filename:
            raise ValueError(f"an upload needs a filename without '/', not {self.filename!r}")
        if self.size is not None and self.size < 0:
            raise ValueError(f"an upload's size cannot be negative ({self.size})")


@dataclass(frozen=True)
class StoredFile:
    """A file the CDN serves: its bytes and Content-Type."""

    data: bytes
    content_type: str


class Cdn:
    """Uploaded files by path (``/attachments/{channel_id}/{attachment_id}/{filename}``)."""

    def __init__(self, ids: Snowflakes, base_url: Callable[[], str]) -> None:
        self.files: dict[str, StoredFile] = {}
        self._ids = ids
        self._base_url = base_url

    def store(self, upload: Upload, channel_id: int) -> dict[str, Any]:
        """Keep ``upload`` and return its attachment object, as an interaction's
        ``data.resolved.attachments`` carries it (``ephemeral``: it lives only with the command)."""
        attachment_id = self._ids.next()
        content_type = (
            upload.content_type or mimetypes.guess_type(upload.filename)[0] or "application/octet-stream"
        )
        path = CDN_ROUTE.format(channel_id=channel_id, attachment_id=attachment_id, filename=upload.filename)
        self.files[path] = StoredFile(upload.data, content_type)
        url = self._base_url() + urllib.parse.quote(path)
        return {
            "id": str(attachment_id),
            "filename": upload.filename,
            "size": len(upload.data) if upload.size is None else upload.size,
            "url": url,
            "proxy_url": url,
            "content_type": content_type,
            "ephemeral": True,
        }

    def file(self, path: str) -> StoredFile | None:
        """The file at ``path`` (decoded, as aiohttp's ``request.path``), None if unknown."""
        return self.files.get(path)
