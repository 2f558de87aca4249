"""The process's settings, read from the environment (and `.env`, which `run_bot.py` loads): one typed
model per layer, `IndexSettings` here and `bot.settings.BotSettings` (which extends it) for Discord.

pydantic-settings does the typing: `IndexSettings()` reads the environment itself, and
`IndexSettings.from_env(mapping)` reads a given mapping through the same validators. Every malformed
value raises `SettingsError` with one line, "NAME: what is wrong and what to do", that never quotes a
secret. A blank value means the default.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Self

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

# The project's folder: the defaults live under it, whatever the working directory.
PROJECT = Path(__file__).resolve().parent.parent

# EMBEDDING_BACKEND values. "onnx" computes torch's vectors up to float noise (cosine > 0.9999), so
# both share an identity and switching between them keeps the index; int8 vectors differ (cosine
# ~0.99), so "onnx-int8" has its own identity and switching to or from it rebuilds. docs/benchmarks.md
Backend = Literal["onnx", "onnx-int8", "torch"]
BACKENDS: tuple[Backend, ...] = ("onnx", "onnx-int8", "torch")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# DATABASE_URL's drivers: SQLite (the standard library's) and PostgreSQL through psycopg 3, the two
# the question log is tested against (SQLAlchemy's "postgresql" means psycopg 3 since 2.1).
DATABASE_DRIVERS = ("sqlite", "sqlite+pysqlite", "postgresql", "postgresql+psycopg")
DEFAULT_DATABASE_URL = f"sqlite:///{PROJECT / 'var' / 'bot.sqlite3'}"
MAX_QUESTION_LOG_DAYS = 3650
MIN_SECRET_CHARS = 16
FLAGS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable and what to fix."""


def setting(name: str, default: Any = PydanticUndefined, **field: Any) -> Any:
    """A field read from the environment variable `name`; in code it is given by its own name.
    `field` goes to pydantic's `Field` (e.g. `repr=False`)."""
    return Field(default, validation_alias=AliasChoices(name), **field)


class Settings(BaseSettings):
    """What every settings model shares: how values are read and how errors read."""

    model_config = SettingsConfigDict(
        frozen=True,
        extra="ignore",
        validate_by_name=True,  # IndexSettings(index_dir=...) in code
        env_ignore_empty=True,
        str_strip_whitespace=True,
    )

    def __init__(self, **values: Any) -> None:
        # By name only: BaseSettings' own positional parameters (_case_sensitive…) would take
        # IndexSettings(articles, index) silently.
        super().__init__(**values)

    @model_validator(mode="before")
    @classmethod
    def _blank_means_default(cls, data: Any) -> Any:
        """A blank optional variable ("ASK_COOLDOWN_SECONDS=  " in .env) is its default."""
        if not isinstance(data, dict):
            return data
        required = {
            key
            for name, field in cls.model_fields.items()
            if field.is_required()
            for key in (name, variable_of(field))
        }
        return {
            key: value
            for key, value in data.items()
            if key in required or not (isinstance(value, str) and not value.strip())
        }

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Self:
        """The settings from `env` (default: the process environment); raises `SettingsError`."""
        env = os.environ if env is None else env
        # Every field is given, so nothing is filled in from elsewhere (pydantic-settings would read
        # os.environ for a missing one): a blank or missing variable gives the default; a required
        # one is left to its validator, which tells "not set" (None) from blank.
        values: dict[str, Any] = {}
        for name, field in cls.model_fields.items():
            raw = env.get(variable_of(field))
            if field.is_required():
                values[name] = raw
            else:
                default = field.get_default(call_default_factory=True)
                values[name] = raw if raw is not None and raw.strip() else default
        try:
            return cls.model_validate(values)
        except ValidationError as error:
            raise SettingsError(one_line(error, cls)) from None


def variable_of(field: FieldInfo) -> str:
    """The environment variable a field is read from."""
    alias = field.validation_alias
    assert isinstance(alias, AliasChoices), "every setting is declared with `setting`"
    return str(alias.choices[0])


def one_line(error: ValidationError, model: type[BaseSettings]) -> str:
    """The first problem of `error` as "VARIABLE: message" (a validator's own sentence when it gave
    one; pydantic's echo of the input left out, since it could be a secret)."""
    problem = error.errors(include_input=False, include_url=False)[0]
    field = str(problem["loc"][0]) if problem["loc"] else ""
    name = variable_of(model.model_fields[field]) if field in model.model_fields else field or "settings"
    cause = problem.get("ctx", {}).get("error")
    message = str(cause) if isinstance(cause, ValueError) else problem["msg"]
    return f"{name}: {message}"


class IndexSettings(Settings):
    """Where the articles and the index live, which model embeds them, and how much is logged."""

    articles_dir: Path = setting("ARTICLES_DIR", PROJECT / "data" / "articles")
    index_dir: Path = setting("INDEX_DIR", PROJECT / "var" / "index")
    embedding_model: str | None = setting("EMBEDDING_MODEL", None)
    embedding_backend: Backend = setting("EMBEDDING_BACKEND", "onnx")
    # The exported model and the index's writer lock: a folder the project owns, never INDEX_DIR's
    # parent (INDEX_DIR may be anywhere).
    model_cache_dir: Path = setting("MODEL_CACHE_DIR", PROJECT / "var" / "models")
    log_level: str = setting("LOG_LEVEL", "INFO")
    # Lets a linked page be fetched from loopback and private addresses (index/fetching.py): for
    # tests and intranets only, since a link could then reach this machine's own services.
    allow_private_urls: bool = setting("ALLOW_PRIVATE_URLS", False)

    # --- the question log (insights/): what is asked through Discord and how answers are rated.
    # Here rather than in BotSettings because `run_bot.py insights` reads the same database.
    # repr=False: the URL may carry a password.
    database_url: str = setting("DATABASE_URL", DEFAULT_DATABASE_URL, repr=False)
    question_log_days: int = setting("QUESTION_LOG_DAYS", 90, ge=0, le=MAX_QUESTION_LOG_DAYS)  # 0: off
    # the HMAC key of user ids; None: a random key kept in var/question-log.key (insights/identity.py)
    question_log_secret: SecretStr | None = setting("QUESTION_LOG_SECRET", None)

    @field_validator("embedding_backend", mode="before")
    @classmethod
    def _backend(cls, raw: object) -> object:
        if isinstance(raw, str):
            value = raw.strip().lower()
            if value not in BACKENDS:
                raise ValueError(f"{raw[:40]!r} is not one of {', '.join(BACKENDS)}")
            return value
        return raw

    @field_validator("log_level", mode="before")
    @classmethod
    def _log_level(cls, raw: object) -> object:
        if isinstance(raw, str):
            value = raw.strip().upper()
            if value not in logging.getLevelNamesMapping():
                raise ValueError(f"{raw[:40]!r} is not a logging level ({', '.join(LOG_LEVELS)})")
            return value
        return raw

    @field_validator("allow_private_urls", mode="before")
    @classmethod
    def _flag(cls, raw: object) -> object:
        if isinstance(raw, str):
            value = FLAGS.get(raw.strip().lower())
            if value is None:
                raise ValueError(f"{raw[:40]!r} is not true or false (true/false, yes/no, 1/0)")
            return value
        return raw

    @field_validator("database_url", mode="before")
    @classmethod
    def _database_url(cls, raw: object) -> object:
        # the default needs no check (and no SQLAlchemy import)
        return database_url(raw) if isinstance(raw, str) and raw != DEFAULT_DATABASE_URL else raw

    @field_validator("question_log_days", mode="before")
    @classmethod
    def _question_log_days(cls, raw: object) -> object:
        if isinstance(raw, str):
            text = raw.strip()
            if not text.isascii() or not text.isdigit() or int(text) > MAX_QUESTION_LOG_DAYS:
                raise ValueError(
                    f"{raw[:40]!r} must be a whole number of days from 0 (record nothing) "
                    f"to {MAX_QUESTION_LOG_DAYS}"
                )
            return int(text)
        return raw

    @field_validator("question_log_secret", mode="before")
    @classmethod
    def _question_log_secret(cls, raw: object) -> object:
        text = raw.get_secret_value() if isinstance(raw, SecretStr) else raw
        if isinstance(text, str) and len(text.strip()) < MIN_SECRET_CHARS:
            # never quoted: it is a secret
            raise ValueError(f"too short; use at least {MIN_SECRET_CHARS} random characters")
        return raw


def database_url(raw: str) -> str:
    """DATABASE_URL, checked: a SQLite file (a relative path is under the project folder, whatever the
    working directory) or a PostgreSQL server. Errors never show a password."""
    # imported here: SQLAlchemy takes 0.1 s to import, which commands that never record don't pay
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(raw.strip())
    except (ArgumentError, ValueError):
        raise ValueError(
            "not a database URL; use sqlite:///path/to/file.sqlite3 or "
            "postgresql+psycopg://user:password@host/database"
        ) from None
    shown = url.render_as_string(hide_password=True)[:80]
    if url.drivername not in DATABASE_DRIVERS:
        raise ValueError(f"{shown!r} is neither sqlite:/// nor postgresql+psycopg:// (the two supported)")
    if url.get_backend_name() == "sqlite":
        url = _sqlite_file(url, shown)
    return url.render_as_string(hide_password=False)


def _sqlite_file(url: URL, shown: str) -> URL:
    database = url.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        raise ValueError(f"{shown!r} names no file; use sqlite:///path/to/file.sqlite3")
    path = Path(database).expanduser()
    return url.set(database=str(path if path.is_absolute() else PROJECT / path))
