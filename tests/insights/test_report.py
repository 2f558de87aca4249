"""The insights report over a temporary SQLite question log: counts per day and confidence, unanswered
questions grouped by meaning, the lowest-rated answers, the busiest channels, the JSON shape, the
chart, and `run_bot.py insights`."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from itertools import count
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

import run_bot
from insights.chart import questions_per_day_png
from insights.report import build_report, empty_report, group_questions
from insights.schema import metadata, questions, votes
from tests.fakes import FakeEmbedder

NOW = datetime(2026, 3, 10, 15, 30, tzinfo=UTC)
PASSAGES = [
    {"article": "philadelphia-ice-arrest-data.txt", "paragraph": 3},
    {"article": "a.txt", "paragraph": 1},
]


class QuestionLog:
    """Rows written straight into the tables, as the recorder will write them (UTC timestamps)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._ids = count(1)

    def ask(
        self,
        question: str = "When does the contract expire?",
        confidence: str = "high",
        *,
        at: datetime = NOW - timedelta(hours=1),
        guild: int | None = 1,
        channel: int | None = 10,
        passages: list | None = None,
    ) -> str:
        answer_id = f"{next(self._ids):016x}"
        row = {
            "answer_id": answer_id,
            "asked_at": at,
            "guild_id": guild,
            "channel_id": channel,
            "user_hash": "0" * 64,
            "via": "mention",
            "question": question,
            "confidence": confidence,
            "passages": ([] if confidence == "none" else PASSAGES) if passages is None else passages,
            "latency_ms": 12.5,
        }
        with self.engine.begin() as connection:
            connection.execute(questions.insert(), [row])
        return answer_id

    def vote(
        self,
        answer_id: str,
        helpful: bool,
        *,
        comment: str | None = None,
        at: datetime = NOW - timedelta(minutes=5),
    ) -> None:
        user = f"{next(self._ids):064x}"
        row = {
            "answer_id": answer_id,
            "user_hash": user,
            "helpful": helpful,
            "comment": comment,
            "voted_at": at,
        }
        with self.engine.begin() as connection:
            connection.execute(votes.insert(), [row])


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "bot.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    metadata.create_all(engine)
    engine.dispose()
    return path


@pytest.fixture
def log(engine: Engine) -> QuestionLog:
    """Rows written straight into a migrated question log: SQLite, then PostgreSQL (the `engine`
    fixture of tests/insights/conftest.py), so every report query runs on both."""
    return QuestionLog(engine)


def report(log: QuestionLog, days: int = 7, embed: Callable[[Sequence[str]], np.ndarray] | None = None, **kw):
    return build_report(log.engine, days=days, now=NOW, embed=embed, **kw)


def never_embed(texts: Sequence[str]) -> np.ndarray:
    raise AssertionError(f"embedded {texts!r}")


# --- counts -----------------------------------------------------------------------------------------


def test_counts_by_confidence_and_day_leave_out_rows_outside_the_window(log: QuestionLog):
    today, yesterday = NOW - timedelta(hours=1), NOW - timedelta(days=1)
    for confidence, at in [("high", today), ("high", today), ("low", today), ("none", yesterday)]:
        log.ask(confidence=confidence, at=at)
    log.ask(at=datetime(2026, 3, 3, 23, 59, 59, tzinfo=UTC))  # the day before the 7-day window
    log.ask(at=datetime(2026, 3, 4, 0, 0, tzinfo=UTC), confidence="low")  # its first moment
    log.ask(at=NOW + timedelta(seconds=1))  # after `now`

    result = report(log)

    assert result.questions == 5
    assert result.by_confidence == {"high": 2, "low": 2, "none": 1}
    days = {d.day.isoformat(): (d.high, d.low, d.none) for d in result.per_day}
    assert days["2026-03-10"] == (2, 1, 0)
    assert days["2026-03-09"] == (0, 0, 1)
    assert days["2026-03-04"] == (0, 1, 0)


def test_every_day_of_the_window_is_in_per_day_with_zero_when_nothing_was_asked(log: QuestionLog):
    log.ask(at=NOW - timedelta(days=2))

    result = report(log, days=5)

    assert [d.day.isoformat() for d in result.per_day] == [
        "2026-03-06", "2026-03-07", "2026-03-08", "2026-03-09", "2026-03-10",
    ]  # fmt: skip
    assert [d.questions for d in result.per_day] == [0, 0, 1, 0, 0]


def test_days_are_utc_days_whatever_zone_now_is_given_in(log: QuestionLog):
    log.ask(at=datetime(2026, 3, 9, 23, 30, tzinfo=UTC))
    log.ask(at=datetime(2026, 3, 10, 0, 30, tzinfo=UTC))
    now = datetime(2026, 3, 10, 1, 0, tzinfo=timezone(timedelta(hours=-5)))  # 06:00 UTC

    result = build_report(log.engine, days=2, now=now)

    assert [(d.day.isoformat(), d.questions) for d in result.per_day] == [
        ("2026-03-09", 1),
        ("2026-03-10", 1),
    ]


def test_a_window_of_more_days_than_one_statement_holds_counts_every_day(log: QuestionLog):
    log.ask(at=NOW - timedelta(days=250))
    log.ask(at=NOW - timedelta(days=99))

    result = report(log, days=365)

    assert len(result.per_day) == 365
    assert result.questions == 2


def test_days_outside_1_to_3650_are_refused(log: QuestionLog):
    with pytest.raises(ValueError, match="between 1 and 3650"):
        report(log, days=0)


def test_feedback_counts_the_votes_cast_in_the_window(log: QuestionLog):
    answer = log.ask()
    log.vote(answer, True)
    log.vote(answer, True)
    log.vote(answer, False)
    log.vote(answer, False, at=NOW - timedelta(days=30))

    result = report(log)

    assert (result.helpful, result.not_helpful) == (2, 1)


def test_the_busiest_channels_come_first_and_top_bounds_them(log: QuestionLog):
    for channel, times in [(10, 1), (20, 3), (30, 2)]:
        for _ in range(times):
            log.ask(guild=1, channel=channel)
    log.ask(guild=None, channel=99)  # a DM
    log.ask(guild=1, channel=20, at=NOW - timedelta(days=9))

    result = report(log, top=2)

    assert [(c.guild_id, c.channel_id, c.questions) for c in result.busiest_channels] == [
        (1, 20, 3),
        (1, 30, 2),
    ]


# --- unanswered questions -------------------------------------------------------------------------


def test_unanswered_texts_are_grouped_by_case_spacing_and_end_mark_without_a_model(log: QuestionLog):
    for text in ["Who is Jim Kenney?", "Who is Jim Kenney?", "who is  jim kenney", "WHO IS JIM KENNEY ?"]:
        log.ask(text, "none")
    log.ask("What is the population of Philadelphia?", "none")
    log.ask("Who is Jim Kenney?", "high")  # answered: not in the list

    result = report(log)

    assert [(g.question, g.count, g.examples) for g in result.unanswered] == [
        ("Who is Jim Kenney?", 4, ()),
        ("What is the population of Philadelphia?", 1, ()),
    ]


def test_near_duplicates_by_their_vectors_are_one_group_and_unrelated_questions_stay_apart(log: QuestionLog):
    asked = {
        "When does the contract expire?": 3,
        "When will the contract expire": 2,  # the same content words: cosine 1 for FakeEmbedder
        "contract expire date?": 1,
        "Who is the police commissioner?": 2,
        "How many sanctuary cities are there?": 1,
    }
    for text, times in asked.items():
        for _ in range(times):
            log.ask(text, "none")

    grouped = report(log, embed=FakeEmbedder().embed).unanswered
    exact = report(log).unanswered

    assert [(g.question, g.count) for g in grouped] == [
        ("When does the contract expire?", 6),
        ("Who is the police commissioner?", 2),
        ("How many sanctuary cities are there?", 1),
    ]
    assert grouped[0].examples == ("When will the contract expire", "contract expire date?")
    assert len(exact) == 5  # without an embedding, only the same text is grouped


def test_a_group_shows_at_most_three_other_wordings_and_top_groups():
    texts = [(f"When does the contract expire, case {n}?", 10 - n) for n in range(6)]

    def one_meaning(rows: Sequence[str]) -> np.ndarray:
        return np.ones((len(rows), 2), dtype=np.float32) / np.sqrt(2)

    (group,) = group_questions(texts, one_meaning)

    assert group.question == "When does the contract expire, case 0?"
    assert group.count == sum(n for _, n in texts)
    assert group.examples == tuple(text for text, _ in texts[1:4])
    assert len(group_questions(texts, None, top=4)) == 4


def test_the_model_is_not_called_when_nothing_went_unanswered(log: QuestionLog):
    log.ask(confidence="high")

    assert report(log, embed=never_embed).unanswered == ()


# --- lowest rated -----------------------------------------------------------------------------------


def test_lowest_rated_orders_by_not_helpful_beyond_helpful_and_shows_the_first_passage(log: QuestionLog):
    worst = log.ask("Who pays for the contract?")
    split = log.ask("How much was the city paid?")
    once = log.ask("What is PARS?", "none")
    liked = log.ask("When does the contract expire?")
    for _ in range(3):
        log.vote(worst, False)
    log.vote(split, False)
    log.vote(split, False)
    log.vote(split, True)
    log.vote(once, False)
    log.vote(liked, True)

    result = report(log).lowest_rated

    assert [(a.question, a.not_helpful, a.helpful) for a in result] == [
        ("Who pays for the contract?", 3, 0),
        ("How much was the city paid?", 2, 1),  # net 1, as `once`, but more readers said no
        ("What is PARS?", 1, 0),
    ]
    assert (result[0].article, result[0].paragraph) == ("philadelphia-ice-arrest-data.txt", 3)
    assert (result[2].article, result[2].paragraph) == (None, None)  # a "none" answer shows no passage


def test_lowest_rated_keeps_three_comments_newest_first_and_skips_blank_ones(log: QuestionLog):
    answer = log.ask()
    for minutes, comment in [
        (50, "oldest"),
        (40, "  "),
        (30, "second"),
        (20, None),
        (10, "newest"),
        (5, "third"),
    ]:
        log.vote(answer, False, comment=comment, at=NOW - timedelta(minutes=minutes))

    (rated,) = report(log).lowest_rated

    assert rated.not_helpful == 6
    assert rated.comments == ("third", "newest", "second")


# --- the JSON shape -------------------------------------------------------------------------------


def test_to_json_has_exactly_the_documented_shape(log: QuestionLog):
    answer = log.ask("Who pays?", guild=123456789012345678, channel=876543210987654321)
    log.vote(answer, False, comment="the budget")
    log.ask("Who is the mayor?", "none", guild=None, channel=None)

    shape = json.loads(json.dumps(report(log, days=2).to_json()))

    assert shape == {
        "days": 2,
        "from": "2026-03-09T00:00:00+00:00",
        "to": "2026-03-10T15:30:00+00:00",
        "questions": 2,
        "by_confidence": {"high": 1, "low": 0, "none": 1},
        "per_day": [
            {"day": "2026-03-09", "questions": 0, "high": 0, "low": 0, "none": 0},
            {"day": "2026-03-10", "questions": 2, "high": 1, "low": 0, "none": 1},
        ],
        "unanswered": [{"question": "Who is the mayor?", "count": 1, "examples": []}],
        "feedback": {"helpful": 0, "not_helpful": 1},
        "lowest_rated": [
            {
                "answer_id": answer,
                "question": "Who pays?",
                "asked_at": "2026-03-10T14:30:00+00:00",
                "passage": {"article": "philadelphia-ice-arrest-data.txt", "paragraph": 3},
                "helpful": 0,
                "not_helpful": 1,
                "comments": ["the budget"],
            }
        ],
        "busiest_channels": [
            {"guild_id": "123456789012345678", "channel_id": "876543210987654321", "questions": 1},
            {"guild_id": None, "channel_id": None, "questions": 1},
        ],
    }


def test_an_empty_report_has_every_day_at_zero():
    shape = empty_report(days=3, now=NOW).to_json()

    assert shape["questions"] == 0
    assert [d["questions"] for d in shape["per_day"]] == [0, 0, 0]
    assert shape["unanswered"] == shape["lowest_rated"] == shape["busiest_channels"] == []


# --- the chart --------------------------------------------------------------------------------------


@pytest.mark.parametrize("asked", [0, 40])
def test_the_chart_is_a_small_png_of_the_expected_size(log: QuestionLog, asked: int):
    import matplotlib.image

    for n in range(asked):
        log.ask(confidence=("high", "low", "none")[n % 3], at=NOW - timedelta(days=n % 5, minutes=n))

    png = questions_per_day_png(report(log, days=30))

    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) < 200_000
    assert matplotlib.image.imread(io.BytesIO(png), format="png").shape[:2] == (320, 800)


# --- run_bot.py insights ----------------------------------------------------------------------------


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, engine: Engine) -> None:
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("PYTHON_DOTENV_DISABLED", "1")
    monkeypatch.delenv("LOG_LEVEL", raising=False)
    monkeypatch.setattr("index.startup.load_embedder", lambda _settings: FakeEmbedder())


@pytest.mark.usefixtures("environment")
def test_cli_json_prints_one_object_with_the_documented_keys(
    log: QuestionLog, capsys: pytest.CaptureFixture[str]
):
    log.ask("When will the contract expire", "none", at=datetime.now(UTC) - timedelta(minutes=1))
    log.ask("When does the contract expire?", "none", at=datetime.now(UTC) - timedelta(minutes=2))
    log.ask(confidence="high", at=datetime.now(UTC) - timedelta(days=3))

    assert run_bot.main(["insights", "--json", "--days", "2"]) == 0

    shape = json.loads(capsys.readouterr().out)
    assert shape["questions"] == 2
    assert shape["by_confidence"] == {"high": 0, "low": 0, "none": 2}
    assert [(g["count"], len(g["examples"])) for g in shape["unanswered"]] == [
        (2, 1)
    ]  # the model grouped them
    assert set(shape) >= {"questions", "by_confidence", "unanswered", "feedback", "lowest_rated"}


@pytest.mark.usefixtures("environment")
def test_cli_text_summarises_and_loads_no_model_without_unanswered_questions(
    log: QuestionLog, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    def no_model(_settings):
        raise AssertionError("loaded the model")

    monkeypatch.setattr("index.startup.load_embedder", no_model)
    answer = log.ask("Who pays for the contract?", "low", at=datetime.now(UTC) - timedelta(minutes=1))
    log.vote(answer, False, comment="the budget", at=datetime.now(UTC))

    assert run_bot.main(["insights"]) == 0

    out = capsys.readouterr().out
    assert "1 questions" in out
    assert re.search(r"maybe answered \(low\) +1 +100\.0%", out)
    assert "Who pays for the contract?" in out
    assert "“the budget”" in out


def test_cli_without_a_database_says_nothing_was_recorded_and_creates_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    missing = tmp_path / "var" / "bot.sqlite3"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{missing}")
    monkeypatch.setenv("PYTHON_DOTENV_DISABLED", "1")

    assert run_bot.main(["insights"]) == 0
    assert capsys.readouterr().out.strip() == "no questions recorded yet"
    assert run_bot.main(["insights", "--json", "--days", "3"]) == 0
    shape = json.loads(capsys.readouterr().out)
    assert (shape["questions"], len(shape["per_day"])) == (0, 3)
    assert not missing.exists()


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("not a url", "DATABASE_URL: not a database URL"),
        ("nosuchdb://host/x", "DATABASE_URL: 'nosuchdb://host/x' is neither sqlite"),
        ("postgresql+psycopg://reader:hunter2@127.0.0.1:1/log", "reader:***@127.0.0.1:1/log"),
    ],
)
def test_cli_with_an_unusable_database_url_is_one_error_line_and_exit_2(
    url: str, says: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("PYTHON_DOTENV_DISABLED", "1")

    with pytest.raises(SystemExit) as exited:
        run_bot.main(["insights"])

    assert exited.value.code == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: ")
    assert says in line
    assert "hunter2" not in line


def test_cli_on_a_file_that_is_not_a_database_is_one_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    garbage = tmp_path / "bot.sqlite3"
    garbage.write_bytes(b"not sqlite at all" * 100)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{garbage}")
    monkeypatch.setenv("PYTHON_DOTENV_DISABLED", "1")

    with pytest.raises(SystemExit) as exited:
        run_bot.main(["insights"])

    assert exited.value.code == 2
    assert capsys.readouterr().err.startswith("error: the question log at sqlite:///")
    assert garbage.read_bytes().startswith(b"not sqlite")


@pytest.mark.parametrize("days", ["0", "3651", "week"])
def test_cli_days_outside_1_to_3650_are_refused_by_the_parser(days: str, capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exited:
        run_bot.main(["insights", "--days", days])

    assert exited.value.code == 2
    assert "--days" in capsys.readouterr().err


def test_cli_forget_deletes_one_persons_questions_and_votes_and_keeps_the_others(
    database: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    from insights.identity import user_hash

    secret = "a secret of at least sixteen characters"
    monkeypatch.setenv("QUESTION_LOG_SECRET", secret)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("PYTHON_DOTENV_DISABLED", "1")
    engine = create_engine(f"sqlite:///{database}")
    theirs, others = user_hash(42, secret.encode()), user_hash(7, secret.encode())
    with engine.begin() as connection:
        for number, who in enumerate([theirs, others, theirs]):
            connection.execute(
                questions.insert(),
                [
                    {
                        "answer_id": f"{number:016x}",
                        "asked_at": NOW,
                        "guild_id": 1,
                        "channel_id": 10,
                        "user_hash": who,
                        "via": "slash",
                        "question": "q?",
                        "confidence": "high",
                        "passages": [],
                        "latency_ms": 1.0,
                    }
                ],
            )
        connection.execute(
            votes.insert(),
            [
                {
                    "answer_id": f"{1:016x}",
                    "user_hash": theirs,
                    "helpful": False,
                    "comment": None,
                    "voted_at": NOW,
                }
            ],
        )

    assert run_bot.main(["insights", "--forget", "42"]) == 0

    assert capsys.readouterr().out == "forgot 3 rows (questions and votes) of user 42\n"
    with engine.connect() as connection:
        assert [row.user_hash for row in connection.execute(questions.select())] == [others]
        assert list(connection.execute(votes.select())) == []
    engine.dispose()


def test_cli_forget_without_any_key_says_so_rather_than_forgetting_nobody(
    database: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("PYTHON_DOTENV_DISABLED", "1")
    monkeypatch.delenv("QUESTION_LOG_SECRET", raising=False)
    monkeypatch.setattr("insights.identity.KEY_FILE", tmp_path / "gone.key")

    with pytest.raises(SystemExit) as exited:
        run_bot.main(["insights", "--forget", "42"])

    assert exited.value.code == 2
    assert capsys.readouterr().err.startswith("error: no key to find anyone by")
    assert not (tmp_path / "gone.key").exists()  # no new key was made
