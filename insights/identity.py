"""Who asked, without knowing who: user ids are recorded only as an HMAC under the question log's key,
so one person's votes can be told apart (one vote per answer) and their rows found again by their id
(`forget_user`), but an id can't be read back from the database.

The key is QUESTION_LOG_SECRET when set (needed when several processes or machines share one
database), else a random key made once in var/question-log.key. Losing or changing it unlinks the
rows recorded before from those recorded after (and from `forget_user`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import tempfile
from pathlib import Path

from index.settings import PROJECT, IndexSettings

log = logging.getLogger(__name__)

KEY_FILE = PROJECT / "var" / "question-log.key"
KEY_BYTES = 32


class KeyFileError(Exception):
    """The key file exists but holds no key; the message says what to do."""


def user_hash(user_id: int, key: bytes) -> str:
    """The HMAC-SHA256 of a Discord user id under `key`, as 64 hex digits."""
    return hmac.new(key, str(user_id).encode("ascii"), hashlib.sha256).hexdigest()


def load_key(settings: IndexSettings, key_file: Path = KEY_FILE) -> bytes:
    """The HMAC key: QUESTION_LOG_SECRET, else the one in `key_file` (made at the first start)."""
    if settings.question_log_secret is not None:
        return settings.question_log_secret.get_secret_value().encode("utf-8")
    if not settings.database_url.startswith("sqlite"):
        log.warning(
            "QUESTION_LOG_SECRET is not set: user ids are hashed with %s, a key of this machine's "
            "alone; set it when several processes or machines share the question log",
            key_file,
        )
    try:
        return _read_key(key_file)
    except FileNotFoundError:
        return _create_key(key_file)


def _read_key(key_file: Path) -> bytes:
    text = key_file.read_text(encoding="ascii", errors="replace").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise KeyFileError(
            f"{key_file} is not a question log key (64 hex digits); restore it, or delete it to make a "
            "new one (votes recorded before can then no longer be told apart from later ones)"
        )
    return key


def _create_key(key_file: Path) -> bytes:
    """A new random key written to `key_file` readable by this user only; two processes starting at
    once both end up with the one that was linked into place first."""
    key_file.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=key_file.parent, prefix=".question-log-key-")
    try:
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(secrets.token_hex(KEY_BYTES) + "\n")
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temporary, key_file)  # never replaces a key another process made meanwhile
            log.info("made a new question log key in %s", key_file)
        except FileExistsError:
            pass
    finally:
        os.unlink(temporary)
    return _read_key(key_file)
