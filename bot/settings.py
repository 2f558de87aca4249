"""The bot's settings, read from the environment (and `.env`, which `run_bot.py` loads).

Index settings (ARTICLES_DIR, INDEX_DIR, EMBEDDING_MODEL) live in `index.settings`; LOG_LEVEL is read
by `run_bot.py`. A malformed value raises `SettingsError` with one sentence that names the variable
and never quotes the token.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import SplitResult, urlsplit

API_VERSION_PATH = "/api/v10"
MAX_COOLDOWN_SECONDS = 86_400.0
_MAX_SNOWFLAKE = 2**64 - 1
_OTHER_API_VERSION = re.compile(r"/api/v\d+$")


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable and what to fix."""


@dataclass(frozen=True)
class BotSettings:
    """What the Discord layer needs: the token, where commands go, who administers, and limits."""

    token: str = field(repr=False)
    guild_ids: tuple[int, ...] = ()
    admin_user_ids: frozenset[int] = frozenset()
    admin_role_ids: frozenset[int] = frozenset()
    answer_channel_ids: frozenset[int] = frozenset()
    ask_cooldown_seconds: float = 3.0
    reindex_cooldown_seconds: float = 30.0
    api_base_url: str | None = None  # None: discord.com; else ends in /api/v10 (see `api_base_url`)
    gateway_url: str | None = None  # None: discord.py's gateway

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> BotSettings:
        """Read the settings from `env` (default: the process environment); blank means default."""
        env = os.environ if env is None else env

        def value(name: str) -> str:
            return env.get(name, "").strip()

        cooldown = value("ASK_COOLDOWN_SECONDS")
        reindex_cooldown = value("REINDEX_COOLDOWN_SECONDS")
        return cls(
            token=token(env.get("DISCORD_TOKEN")),
            guild_ids=tuple(dict.fromkeys(snowflakes("DISCORD_GUILD_IDS", value("DISCORD_GUILD_IDS")))),
            admin_user_ids=frozenset(snowflakes("ADMIN_USER_IDS", value("ADMIN_USER_IDS"))),
            admin_role_ids=frozenset(snowflakes("ADMIN_ROLE_IDS", value("ADMIN_ROLE_IDS"))),
            answer_channel_ids=frozenset(snowflakes("ANSWER_CHANNEL_IDS", value("ANSWER_CHANNEL_IDS"))),
            ask_cooldown_seconds=seconds("ASK_COOLDOWN_SECONDS", cooldown) if cooldown else 3.0,
            reindex_cooldown_seconds=(
                seconds("REINDEX_COOLDOWN_SECONDS", reindex_cooldown) if reindex_cooldown else 30.0
            ),
            api_base_url=api_base_url(value("DISCORD_API_BASE_URL")) or None,
            gateway_url=gateway_url(value("DISCORD_GATEWAY_URL")) or None,
        )


def token(raw: str | None) -> str:
    """DISCORD_TOKEN, checked for the usual paste mistakes; errors never repeat it."""
    if raw is None:
        raise SettingsError("DISCORD_TOKEN is not set; put the bot token from the Developer Portal in .env")
    text = raw.strip()
    if not text:
        raise SettingsError("DISCORD_TOKEN is empty; put the bot token from the Developer Portal in .env")
    if text.lower().startswith("bot "):
        raise SettingsError("DISCORD_TOKEN starts with 'Bot '; give the token alone")
    if any(ch.isspace() for ch in text) or not text.isascii() or not text.isprintable():
        raise SettingsError("DISCORD_TOKEN contains spaces or unusual characters; paste the token again")
    return text


def snowflakes(name: str, raw: str) -> list[int]:
    """A comma- or space-separated list of Discord ids."""
    ids = []
    for item in re.split(r"[,\s]+", raw):
        if not item:
            continue
        if not item.isascii() or not item.isdigit() or not 0 < int(item) <= _MAX_SNOWFLAKE:
            raise SettingsError(
                f"{name}: {item[:40]!r} is not a Discord id (ids are numbers like 123456789012345678; "
                "separate several with commas)"
            )
        ids.append(int(item))
    return ids


def seconds(name: str, raw: str) -> float:
    """A non-negative number of seconds (0 turns the limit off)."""
    try:
        number = float(raw)
    except ValueError:
        raise SettingsError(f"{name}: {raw[:40]!r} is not a number of seconds") from None
    if not math.isfinite(number) or not 0 <= number <= MAX_COOLDOWN_SECONDS:
        raise SettingsError(f"{name}: {raw[:40]!r} must be between 0 (off) and {MAX_COOLDOWN_SECONDS:.0f}")
    return number


def _split_url(name: str, raw: str, schemes: tuple[str, ...]) -> SplitResult:
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        raise SettingsError(f"{name}: {raw[:80]!r} is not a valid URL") from None
    if parts.scheme not in schemes or not parts.hostname:
        raise SettingsError(f"{name}: {raw[:80]!r} must be a {' or '.join(schemes)} URL with a host")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise SettingsError(f"{name}: {raw[:80]!r} must not have a query, fragment or credentials")
    if parts.scheme in ("http", "ws") and not _is_loopback(parts.hostname):
        secure = "https" if parts.scheme == "http" else "wss"
        raise SettingsError(
            f"{name}: {raw[:80]!r} would send the bot token unencrypted; use {secure}://, or "
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
    parts = _split_url("DISCORD_API_BASE_URL", raw, ("http", "https"))
    path = parts.path.rstrip("/")
    if not path.endswith(API_VERSION_PATH):
        if _OTHER_API_VERSION.search(path):
            raise SettingsError(f"DISCORD_API_BASE_URL: {raw[:80]!r} must use {API_VERSION_PATH}")
        path += API_VERSION_PATH
    return parts._replace(path=path).geturl()


def gateway_url(raw: str) -> str:
    """DISCORD_GATEWAY_URL: a ws(s) URL; discord.py adds the version and encoding query itself."""
    if not raw:
        return ""
    parts = _split_url("DISCORD_GATEWAY_URL", raw, ("ws", "wss"))
    return parts._replace(path=parts.path or "/").geturl()
