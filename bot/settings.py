"""The Discord bot's settings: `BotSettings`, the index's settings (`index.settings`) and the
Discord ones, one typed model read from the environment (and `.env`, which `run_bot.py` loads).

A malformed value raises `SettingsError` with one line that names the variable and never quotes
the token; the token itself is a `SecretStr`, so no repr, log line or traceback shows it.
"""

from __future__ import annotations

import ipaddress
import math
import re
from typing import Annotated
from urllib.parse import SplitResult, urlsplit

from pydantic import SecretStr, ValidationInfo, field_validator
from pydantic_settings import NoDecode

from index.settings import IndexSettings, SettingsError, setting

__all__ = ["BotSettings", "SettingsError"]

API_VERSION_PATH = "/api/v10"
MAX_COOLDOWN_SECONDS = 86_400.0
_MAX_SNOWFLAKE = 2**64 - 1
_OTHER_API_VERSION = re.compile(r"/api/v\d+$")


class BotSettings(IndexSettings):
    """What the Discord layer needs on top of the index's: the token, where commands go, who
    administers, and limits."""

    token: SecretStr = setting("DISCORD_TOKEN")
    # NoDecode: a list of ids is "1, 2" in the environment, not JSON; the validators below read it
    guild_ids: Annotated[tuple[int, ...], NoDecode] = setting("DISCORD_GUILD_IDS", ())
    admin_user_ids: Annotated[frozenset[int], NoDecode] = setting("ADMIN_USER_IDS", frozenset())
    admin_role_ids: Annotated[frozenset[int], NoDecode] = setting("ADMIN_ROLE_IDS", frozenset())
    answer_channel_ids: Annotated[frozenset[int], NoDecode] = setting("ANSWER_CHANNEL_IDS", frozenset())
    ask_cooldown_seconds: float = setting("ASK_COOLDOWN_SECONDS", 3.0)
    reindex_cooldown_seconds: float = setting("REINDEX_COOLDOWN_SECONDS", 30.0)
    # Answer a mention in a new public thread where the bot may start one (else in place)
    thread_replies: bool = setting("THREAD_REPLIES", True)
    # None: as many shards as Discord recommends, all run here (see docs/scaling.md)
    shard_count: int | None = setting("SHARD_COUNT", None)
    # None: every shard of SHARD_COUNT; else this process's shards ("0-3", "4,5")
    shard_ids: Annotated[tuple[int, ...] | None, NoDecode] = setting("SHARD_IDS", None)
    # None: discord.com; else ends in /api/v10 (see `api_base_url`)
    api_base_url: str | None = setting("DISCORD_API_BASE_URL", None)
    gateway_url: str | None = setting("DISCORD_GATEWAY_URL", None)  # None: discord.py's gateway

    @field_validator("token", mode="before")
    @classmethod
    def _token(cls, raw: object) -> object:
        return token(raw) if raw is None or isinstance(raw, str) else raw

    @field_validator("guild_ids", mode="before")
    @classmethod
    def _guild_ids(cls, raw: object) -> object:
        return tuple(dict.fromkeys(snowflakes(raw))) if isinstance(raw, str) else raw

    @field_validator("admin_user_ids", "admin_role_ids", "answer_channel_ids", mode="before")
    @classmethod
    def _id_sets(cls, raw: object) -> object:
        return frozenset(snowflakes(raw)) if isinstance(raw, str) else raw

    @field_validator("ask_cooldown_seconds", "reindex_cooldown_seconds", mode="before")
    @classmethod
    def _seconds(cls, raw: object) -> object:
        return seconds(raw) if isinstance(raw, str) else raw

    @field_validator("shard_count", mode="before")
    @classmethod
    def _shard_count(cls, raw: object) -> object:
        return shard_count(raw) if isinstance(raw, str) else raw

    @field_validator("shard_ids", mode="before")
    @classmethod
    def _shard_ids(cls, raw: object, info: ValidationInfo) -> object:
        if not isinstance(raw, str):
            return raw
        return shard_ids(raw, info.data.get("shard_count"))

    @property
    def syncs_commands(self) -> bool:
        """Whether this process syncs the slash commands: one process per deployment does, the
        one that runs shard 0 (every process of a cluster shares the application's commands)."""
        return self.shard_ids is None or 0 in self.shard_ids

    @field_validator("api_base_url", mode="before")
    @classmethod
    def _api_base_url(cls, raw: object) -> object:
        return api_base_url(raw) or None if isinstance(raw, str) else raw

    @field_validator("gateway_url", mode="before")
    @classmethod
    def _gateway_url(cls, raw: object) -> object:
        return gateway_url(raw) or None if isinstance(raw, str) else raw


def token(raw: str | None) -> str:
    """DISCORD_TOKEN, checked for the usual paste mistakes; errors never repeat it."""
    if raw is None:
        raise SettingsError("not set; put the bot token from the Developer Portal in .env")
    text = raw.strip()
    if not text:
        raise SettingsError("empty; put the bot token from the Developer Portal in .env")
    if text.lower().startswith("bot "):
        raise SettingsError("starts with 'Bot '; give the token alone")
    if any(ch.isspace() for ch in text) or not text.isascii() or not text.isprintable():
        raise SettingsError("contains spaces or unusual characters; paste the token again")
    return text


def snowflakes(raw: str) -> list[int]:
    """A comma- or space-separated list of Discord ids."""
    ids = []
    for item in re.split(r"[,\s]+", raw):
        if not item:
            continue
        if not item.isascii() or not item.isdigit() or not 0 < int(item) <= _MAX_SNOWFLAKE:
            raise SettingsError(
                f"{item[:40]!r} is not a Discord id (ids are numbers like 123456789012345678; "
                "separate several with commas)"
            )
        ids.append(int(item))
    return ids


MAX_SHARDS = 100_000


def shard_count(raw: str) -> int:
    """SHARD_COUNT: how many shards the whole bot runs, a whole number from 1."""
    text = raw.strip()
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_SHARDS:
        raise SettingsError(f"{raw[:40]!r} is not a number of shards (a whole number from 1)")
    return int(text)


def shard_ids(raw: str, count: int | None) -> tuple[int, ...]:
    """SHARD_IDS: this process's shards, as "0,1,2", "0-3" or both ("0-3, 8"), each below
    SHARD_COUNT, which must be set with it."""
    if count is None:
        raise SettingsError("needs SHARD_COUNT, the number of shards of the whole bot, set too")
    ids: list[int] = []
    for item in re.split(r"[,\s]+", raw.strip()):
        if not item:
            continue
        first, dash, last = item.partition("-")
        if not all(part.isascii() and part.isdigit() for part in (first, last if dash else first)):
            raise SettingsError(f"{item[:40]!r} is not a shard id or a range like 0-3")
        low, high = int(first), int(last if dash else first)
        if low > high or high >= count:
            raise SettingsError(f"{item[:40]!r}: shard ids go from 0 to SHARD_COUNT - 1 ({count - 1})")
        ids.extend(range(low, high + 1))
    if not ids:
        raise SettingsError("empty; give this process's shards, e.g. 0-3, or leave SHARD_IDS unset")
    return tuple(sorted(set(ids)))


def seconds(raw: str) -> float:
    """A non-negative number of seconds (0 turns the limit off)."""
    try:
        number = float(raw)
    except ValueError:
        raise SettingsError(f"{raw[:40]!r} is not a number of seconds") from None
    if not math.isfinite(number) or not 0 <= number <= MAX_COOLDOWN_SECONDS:
        raise SettingsError(f"{raw[:40]!r} must be between 0 (off) and {MAX_COOLDOWN_SECONDS:.0f}")
    return number


def _split_url(raw: str, schemes: tuple[str, ...]) -> SplitResult:
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        raise SettingsError(f"{raw[:80]!r} is not a valid URL") from None
    if parts.scheme not in schemes or not parts.hostname:
        raise SettingsError(f"{raw[:80]!r} must be a {' or '.join(schemes)} URL with a host")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise SettingsError(f"{raw[:80]!r} must not have a query, fragment or credentials")
    if parts.scheme in ("http", "ws") and not _is_loopback(parts.hostname):
        secure = "https" if parts.scheme == "http" else "wss"
        raise SettingsError(
            f"{raw[:80]!r} would send the bot token unencrypted; use {secure}://, or "
            f"{parts.scheme}:// only to this machine (127.0.0.1, ::1, localhost)"
        )
    return parts


def _is_loopback(host: str) -> bool:
    """Whether `host` is this machine: a loopback address or "localhost"."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def api_base_url(raw: str) -> str:
    """DISCORD_API_BASE_URL as discord.py's `Route.BASE`: `http(s)://host[/prefix]/api/v10`.

    Given without an API path (`http://127.0.0.1:8080`), `/api/v10` is appended; another API
    version is refused, since discord.py speaks v10. Blank gives "".
    """
    if not raw:
        return ""
    parts = _split_url(raw, ("http", "https"))
    path = parts.path.rstrip("/")
    if not path.endswith(API_VERSION_PATH):
        if _OTHER_API_VERSION.search(path):
            raise SettingsError(f"{raw[:80]!r} must use {API_VERSION_PATH}")
        path += API_VERSION_PATH
    return parts._replace(path=path).geturl()


def gateway_url(raw: str) -> str:
    """DISCORD_GATEWAY_URL: a ws(s) URL; discord.py adds the version and encoding query itself."""
    if not raw:
        return ""
    parts = _split_url(raw, ("ws", "wss"))
    return parts._replace(path=parts.path or "/").geturl()
