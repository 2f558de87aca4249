"""The key user ids are hashed with: QUESTION_LOG_SECRET, else one random key made once, private to
this user, and the same on every later start (and for processes starting at once)."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from index.settings import IndexSettings
from insights.identity import KeyFileError, load_key, user_hash


def test_user_hash_is_hmac_sha256_of_the_decimal_id():
    # python -c "import hmac; print(hmac.new(b'k' * 32, b'42', 'sha256').hexdigest())"
    expected = "09b9733fee8d8c0058bb9267ee6883b71d107741f7dce72efc707782121c7a49"
    got = user_hash(42, b"k" * 32)

    assert len(got) == 64
    assert got == expected
    assert user_hash(42, b"j" * 32) != got
    assert user_hash(43, b"k" * 32) != got


def test_the_secret_setting_is_the_key(tmp_path: Path):
    settings = IndexSettings.from_env({"QUESTION_LOG_SECRET": "a-long-enough-secret-value"})

    assert load_key(settings, tmp_path / "question-log.key") == b"a-long-enough-secret-value"
    assert not (tmp_path / "question-log.key").exists()


def test_without_a_secret_a_key_file_is_made_once_private_and_reused(tmp_path: Path):
    key_file = tmp_path / "var" / "question-log.key"

    first = load_key(IndexSettings.from_env({}), key_file)

    assert len(first) == 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert load_key(IndexSettings.from_env({}), key_file) == first
    assert [path.name for path in key_file.parent.iterdir()] == ["question-log.key"]  # no temporary left


def test_processes_starting_at_once_share_one_key(tmp_path: Path):
    key_file = tmp_path / "question-log.key"
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: load_key(IndexSettings.from_env({}), key_file), range(32)))

    assert len(keys) == 1


def test_a_damaged_key_file_is_refused_not_replaced(tmp_path: Path):
    key_file = tmp_path / "question-log.key"
    key_file.write_text("not a key\n")

    with pytest.raises(KeyFileError, match="is not a question log key"):
        load_key(IndexSettings.from_env({}), key_file)
    assert key_file.read_text() == "not a key\n"
