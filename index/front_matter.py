"""An article file's front matter: a `---` block of `key: value` lines at its very top.

    ---
    title: "Philadelphia To Stop Giving ICE Real-Time Arrest Data"
    source: https://example.org/news/philadelphia-ice
    date: 2018-07-27
    added: 2024-05-01T12:00:00+00:00
    ---

A small, strict reader rather than YAML (no types guessed from values, nothing imported at start):
`title`, `source` (an http(s) URL), `date` and `added` (ISO dates) are read and checked; other keys
(an editor's `author:`, `tags:` and their indented lines) are passed over. A top block that isn't
made of `key: value` lines is not front matter (a page may open with a divider): the text is left
as it is. Pure functions, no I/O.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlsplit

DELIMITER = "---"
KEYS = ("title", "source", "date", "added")
_MAX_LINES = 50  # front matter is a few lines; a divider far down the page is not its end
_FIELD = re.compile(r"([A-Za-z][A-Za-z0-9_-]*):(?:[ \t]+(.*?))?[ \t]*")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class FrontMatterError(ValueError):
    """The front matter is malformed; the message says which line and what to fix."""


@dataclass(frozen=True)
class FrontMatter:
    """What an article file says about itself; None where it says nothing."""

    title: str | None = None
    source: str | None = None  # the page the article was taken from (http or https)
    date: str | None = None  # when it was published
    added: str | None = None  # when it was added to the library


def split_front_matter(text: str) -> tuple[FrontMatter, str]:
    """The front matter at the top of `text` (if any) and the text after it; raises
    `FrontMatterError` for a front matter block whose known keys are malformed."""
    lines = _LINE_BREAK.split(text)
    if lines[0].rstrip() != DELIMITER:
        return FrontMatter(), text
    end = next((n for n in range(1, min(len(lines), _MAX_LINES)) if lines[n].rstrip() == DELIMITER), None)
    if end is None:
        return FrontMatter(), text
    values: dict[str, str] = {}
    key = None
    for line in lines[1:end]:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0] in " \t" and key is not None:  # an indented line continues the key above
            if key in KEYS:
                raise FrontMatterError(f"front matter {key!r} must be on one line")
            continue
        field = _FIELD.fullmatch(line)
        if field is None:
            return FrontMatter(), text  # not `key: value` lines: not front matter
        key, raw = field.group(1), field.group(2) or ""
        if key in KEYS:
            if key in values:
                raise FrontMatterError(f"front matter names {key!r} twice")
            values[key] = _unquote(key, raw)
    front = FrontMatter(**{key: value for key, value in values.items() if value})
    _check(front)
    return front, "\n".join(lines[end + 1 :])


def format_front_matter(front: FrontMatter) -> str:
    """The front matter block for `front` (its fields that are set), ending with a line break; what
    `split_front_matter` reads back as the same values."""
    _check(front)
    lines = [DELIMITER]
    for key in KEYS:
        value = getattr(front, key)
        if value is None:
            continue
        if "\n" in value or "\r" in value:
            raise FrontMatterError(f"front matter {key!r} must be on one line")
        # The title is quoted (JSON, which YAML reads too): a title may start with a quote or hold " #".
        lines.append(f"{key}: {json.dumps(value, ensure_ascii=False) if key == 'title' else value}")
    return "\n".join([*lines, DELIMITER, ""])


def _unquote(key: str, raw: str) -> str:
    if raw.startswith('"'):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = None
        if not isinstance(value, str):
            raise FrontMatterError(f"front matter {key!r}: {raw[:60]} is not one quoted string")
        return value
    if len(raw) >= 2 and raw[0] == raw[-1] == "'":
        return raw[1:-1].replace("''", "'")
    return raw


def _check(front: FrontMatter) -> None:
    if front.source is not None:
        parts = urlsplit(front.source)
        spaced = any(char.isspace() for char in front.source)
        if parts.scheme not in ("http", "https") or not parts.netloc or spaced:
            raise FrontMatterError(f"front matter source {front.source[:80]!r} is not an http(s) URL")
    for key, parse in (("date", _iso_date), ("added", datetime.fromisoformat)):
        value = getattr(front, key)
        if value is None:
            continue
        try:
            parse(value)
        except ValueError:
            raise FrontMatterError(
                f"front matter {key} {value[:40]!r} is not an ISO date "
                "(2024-05-01 or 2024-05-01T12:00:00+00:00)"
            ) from None


def _iso_date(value: str) -> object:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return datetime.fromisoformat(value)
