"""DATABASE_URL, QUESTION_LOG_DAYS and QUESTION_LOG_SECRET: defaults, what is refused (in one line,
never showing a password or the secret), and relative SQLite paths under the project folder."""

from __future__ import annotations

import pytest

from index.settings import PROJECT, IndexSettings, SettingsError


def test_defaults_record_90_days_in_a_sqlite_file_of_the_project():
    got = IndexSettings.from_env({})

    assert got.database_url == f"sqlite:///{PROJECT / 'var' / 'bot.sqlite3'}"
    assert got.question_log_days == 90
    assert got.question_log_secret is None


def test_a_relative_sqlite_path_is_under_the_project_whatever_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    got = IndexSettings.from_env({"DATABASE_URL": "sqlite:///data/log.sqlite3"})

    assert got.database_url == f"sqlite:///{PROJECT / 'data' / 'log.sqlite3'}"


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("sqlite:////srv/bot/log.sqlite3", "sqlite:////srv/bot/log.sqlite3"),
        (
            "postgresql+psycopg://bot:pw@db.example:5432/bot",
            "postgresql+psycopg://bot:pw@db.example:5432/bot",
        ),
        ("postgresql://bot@localhost/bot", "postgresql://bot@localhost/bot"),
    ],
)
def test_sqlite_and_postgresql_urls_are_accepted(url: str, kept: str):
    assert IndexSettings.from_env({"DATABASE_URL": f" {url} "}).database_url == kept


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("mysql://bot:s3cret-pw@db/bot", "is neither sqlite:/// nor postgresql+psycopg://"),
        ("postgresql+psycopg2://bot:s3cret-pw@db/bot", "is neither sqlite:/// nor postgresql+psycopg://"),
        ("not a url s3cret-pw", "not a database URL"),
        ("sqlite://", "names no file"),
        ("sqlite:///:memory:", "names no file"),
    ],
)
def test_other_urls_are_refused_in_one_line_without_the_password(url: str, problem: str):
    with pytest.raises(SettingsError, match=r"^DATABASE_URL: ") as caught:
        IndexSettings.from_env({"DATABASE_URL": url})

    assert problem in str(caught.value)
    assert "s3cret" not in str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_url_is_kept_out_of_the_settings_repr():
    got = IndexSettings.from_env({"DATABASE_URL": "postgresql+psycopg://bot:s3cret-pw@db/bot"})

    assert "s3cret" not in repr(got)


@pytest.mark.parametrize(("days", "expected"), [("0", 0), ("1", 1), (" 365 ", 365), ("3650", 3650)])
def test_question_log_days(days: str, expected: int):
    assert IndexSettings.from_env({"QUESTION_LOG_DAYS": days}).question_log_days == expected


@pytest.mark.parametrize("days", ["-1", "3651", "1.5", "ninety", "٣"])
def test_question_log_days_out_of_range_or_not_a_number(days: str):
    with pytest.raises(SettingsError, match=r"^QUESTION_LOG_DAYS: .* from 0 \(record nothing\) to 3650$"):
        IndexSettings.from_env({"QUESTION_LOG_DAYS": days})


def test_the_secret_must_be_long_and_is_never_shown():
    with pytest.raises(SettingsError, match=r"^QUESTION_LOG_SECRET: too short") as caught:
        IndexSettings.from_env({"QUESTION_LOG_SECRET": "tiny-secret"})
    assert "tiny" not in str(caught.value)

    got = IndexSettings.from_env({"QUESTION_LOG_SECRET": "a-long-enough-secret-value"})

    assert got.question_log_secret is not None
    assert got.question_log_secret.get_secret_value() == "a-long-enough-secret-value"
    assert "long-enough" not in repr(got)
