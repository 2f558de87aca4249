"""The insights report: what was asked over the last N days, how confidently it was answered, what
readers wanted that the articles lack (grouped by meaning), the answers rated worst, and where.

Every count is an SQL aggregate over the indexed `asked_at` / `voted_at`, so the report costs the
same whatever Python would have to hold; only the few hundred most frequent unanswered texts come
back as rows, to be grouped by their vectors.

Times are UTC: a day is a UTC calendar day, and the window [from, to) is the `days` days ending
today, today up to now included, so `per_day` has exactly `days` entries. The SQL is the same on
SQLite and PostgreSQL: days are counted as ranges of `asked_at` (bound as UTC timestamps), not by a
date function each database spells its own way.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
from sqlalchemy import case, func, literal, select, union_all
from sqlalchemy.engine import Connection, Engine

from insights.schema import questions, votes

log = logging.getLogger(__name__)

CONFIDENCES = ("high", "low", "none")
MAX_DAYS = 3650
# How many distinct unanswered texts (the most frequent) are embedded and grouped: the long tail of
# questions asked once changes no group's rank, and 300 short texts embed in well under a second.
GROUPED_TEXTS = 300
# How many of the most frequent distinct texts SQL returns to be folded by case and spacing before
# that cut: the long tail (asked once each) can move only texts far below the first 300.
UNANSWERED_ROWS = 10 * GROUPED_TEXTS
# Days counted per statement: each day is one branch of a UNION ALL (SQLite allows 500 branches).
DAYS_PER_STATEMENT = 100
# Two unanswered questions are one group when their all-MiniLM-L6-v2 cosine is at least this.
# Measured on tests/insights/question_pairs.json (25 paraphrase pairs, 25 pairs asking something
# else, mostly about the same story): the two overlap, so the threshold trades missed merges
# against wrong ones. A wrong merge hides a distinct need under another question; a missed merge
# only shows the same need twice. At 0.80, 11/25 paraphrases merge and 2/25 different pairs do
# (0.70: 18 and 5; 0.85: 7 and 0). test_grouping_threshold.py keeps the measurement.
GROUPING_COSINE = 0.80
EXAMPLES = 3
COMMENTS = 3

Embed = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class DayCount:
    """Questions asked on one UTC day, by confidence."""

    day: date
    high: int = 0
    low: int = 0
    none: int = 0

    @property
    def questions(self) -> int:
        return self.high + self.low + self.none


@dataclass(frozen=True)
class QuestionGroup:
    """Unanswered questions that ask the same thing: the most frequent wording, how many were asked
    in all, and up to three other wordings."""

    question: str
    count: int
    examples: tuple[str, ...]


@dataclass(frozen=True)
class RatedAnswer:
    """An answer readers voted down: its question, the first passage it showed (None when it showed
    none), the votes and the comments left with them (newest first)."""

    answer_id: str
    question: str
    asked_at: datetime
    article: str | None
    paragraph: int | None
    helpful: int
    not_helpful: int
    comments: tuple[str, ...]


@dataclass(frozen=True)
class ChannelCount:
    """Questions asked in one channel (guild_id None: a DM)."""

    guild_id: int | None
    channel_id: int | None
    questions: int


@dataclass(frozen=True)
class InsightsReport:
    """The report over [start, end): `days` UTC days, the last one end's."""

    days: int
    start: datetime
    end: datetime
    per_day: tuple[DayCount, ...]
    unanswered: tuple[QuestionGroup, ...]
    helpful: int
    not_helpful: int
    lowest_rated: tuple[RatedAnswer, ...]
    busiest_channels: tuple[ChannelCount, ...]

    @property
    def questions(self) -> int:
        return sum(day.questions for day in self.per_day)

    @property
    def by_confidence(self) -> dict[str, int]:
        return {name: sum(getattr(day, name) for day in self.per_day) for name in CONFIDENCES}

    def to_json(self) -> dict[str, Any]:
        """The report as documented in README.md (`run_bot.py insights --json`). Discord ids are
        strings, as in Discord's own API: they exceed what a JavaScript number holds exactly."""
        return {
            "days": self.days,
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "questions": self.questions,
            "by_confidence": self.by_confidence,
            "per_day": [
                {
                    "day": d.day.isoformat(),
                    "questions": d.questions,
                    "high": d.high,
                    "low": d.low,
                    "none": d.none,
                }
                for d in self.per_day
            ],
            "unanswered": [
                {"question": g.question, "count": g.count, "examples": list(g.examples)}
                for g in self.unanswered
            ],
            "feedback": {"helpful": self.helpful, "not_helpful": self.not_helpful},
            "lowest_rated": [
                {
                    "answer_id": a.answer_id,
                    "question": a.question,
                    "asked_at": a.asked_at.isoformat(),
                    "passage": None
                    if a.article is None
                    else {"article": a.article, "paragraph": a.paragraph},
                    "helpful": a.helpful,
                    "not_helpful": a.not_helpful,
                    "comments": list(a.comments),
                }
                for a in self.lowest_rated
            ],
            "busiest_channels": [
                {"guild_id": _id(c.guild_id), "channel_id": _id(c.channel_id), "questions": c.questions}
                for c in self.busiest_channels
            ],
        }


def _id(snowflake: int | None) -> str | None:
    return None if snowflake is None else str(snowflake)


def report_window(days: int, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The report's [start, end): from midnight UTC `days - 1` days before `now`'s day, to `now`."""
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be between 1 and {MAX_DAYS}, not {days}")
    end = _utc(now or datetime.now(UTC))
    start = datetime.combine(end.date() - timedelta(days=days - 1), time(), UTC)
    return start, end


def build_report(
    engine: Engine,
    *,
    days: int,
    now: datetime | None = None,
    embed: Embed | None = None,
    top: int = 10,
) -> InsightsReport:
    """The insights of the last `days` days from the question log at `engine`. `embed` (texts → unit
    rows) groups unanswered questions by meaning, called only when there are some; without it they
    are grouped by their text alone. `top` bounds each list."""
    start, end = report_window(days, now)
    with engine.connect() as connection:
        counts = _counts_per_day(connection, start, end)
        unanswered = _unanswered_texts(connection, start, end)
        feedback = _feedback(connection, start, end)
        lowest = _lowest_rated(connection, start, end, top)
        channels = _busiest_channels(connection, start, end, top)
    return InsightsReport(
        days=days,
        start=start,
        end=end,
        per_day=_every_day(start, end, counts),
        unanswered=group_questions(unanswered, embed, top=top),
        helpful=feedback.get(True, 0),
        not_helpful=feedback.get(False, 0),
        lowest_rated=lowest,
        busiest_channels=channels,
    )


def empty_report(*, days: int, now: datetime | None = None) -> InsightsReport:
    """The report when nothing was recorded yet (no database): every day zero, every list empty."""
    start, end = report_window(days, now)
    return InsightsReport(days, start, end, _every_day(start, end, {}), (), 0, 0, (), ())


def _utc(moment: datetime) -> datetime:
    """`moment` in UTC (a naive one is taken as UTC, as SQLite gives timestamps back)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _asked_in(start: datetime, end: datetime) -> Any:
    return (questions.c.asked_at >= start) & (questions.c.asked_at < end)


def _voted_in(start: datetime, end: datetime) -> Any:
    return (votes.c.voted_at >= start) & (votes.c.voted_at < end)


def _day_starts(start: datetime, end: datetime) -> list[datetime]:
    return [start + timedelta(days=i) for i in range((end.date() - start.date()).days + 1)]


def _counts_per_day(connection: Connection, start: datetime, end: datetime) -> dict[tuple[date, str], int]:
    """{(day, confidence): questions}. One range count per day over the (confidence, asked_at) index
    reads nothing but that index: a GROUP BY on a day computed from every row would sort them all."""
    counts: dict[tuple[date, str], int] = {}
    starts = _day_starts(start, end)
    for first in range(0, len(starts), DAYS_PER_STATEMENT):
        days = starts[first : first + DAYS_PER_STATEMENT]
        per_day = union_all(
            *(
                select(literal(day.date().isoformat()).label("day"), questions.c.confidence, func.count())
                .where(
                    questions.c.confidence.in_(CONFIDENCES),
                    _asked_in(day, min(day + timedelta(days=1), end)),
                )
                .group_by(questions.c.confidence)
                for day in days
            )
        )
        for day, confidence, n in connection.execute(per_day):
            counts[date.fromisoformat(day), confidence] = n
    return counts


def _every_day(start: datetime, end: datetime, counts: dict[tuple[date, str], int]) -> tuple[DayCount, ...]:
    return tuple(
        DayCount(day.date(), *(counts.get((day.date(), name), 0) for name in CONFIDENCES))
        for day in _day_starts(start, end)
    )


def _unanswered_texts(connection: Connection, start: datetime, end: datetime) -> list[tuple[str, int]]:
    """The distinct texts asked most often with confidence "none" in the window, with how often."""
    count = func.count().label("count")
    query = (
        select(questions.c.question, count)
        .where(questions.c.confidence == "none", _asked_in(start, end))
        .group_by(questions.c.question)
        .order_by(count.desc(), questions.c.question)
        .limit(UNANSWERED_ROWS)
    )
    return [(text, n) for text, n in connection.execute(query)]


def _feedback(connection: Connection, start: datetime, end: datetime) -> dict[bool, int]:
    query = select(votes.c.helpful, func.count()).where(_voted_in(start, end)).group_by(votes.c.helpful)
    return {bool(helpful): n for helpful, n in connection.execute(query)}


def _lowest_rated(
    connection: Connection, start: datetime, end: datetime, top: int
) -> tuple[RatedAnswer, ...]:
    """The answers with the most "not helpful" beyond "helpful" votes cast in the window (at least
    one "not helpful"), worst first."""
    helpful = func.sum(case((votes.c.helpful, 1), else_=0))
    not_helpful = func.sum(case((votes.c.helpful, 0), else_=1))
    rated = (
        select(votes.c.answer_id, helpful.label("helpful"), not_helpful.label("not_helpful"))
        .where(_voted_in(start, end))
        .group_by(votes.c.answer_id)
        .having(not_helpful >= 1)
        .subquery()
    )
    query = (
        select(
            rated.c.answer_id,
            rated.c.helpful,
            rated.c.not_helpful,
            questions.c.question,
            questions.c.asked_at,
            questions.c.passages,
        )
        .join(questions, questions.c.answer_id == rated.c.answer_id)
        .order_by(
            (rated.c.not_helpful - rated.c.helpful).desc(), rated.c.not_helpful.desc(), rated.c.answer_id
        )
        .limit(top)
    )
    rows = connection.execute(query).all()
    comments = _comments(connection, [row.answer_id for row in rows], start, end)
    return tuple(_rated_answer(row, comments.get(row.answer_id, [])) for row in rows)


def _rated_answer(row: Any, comments: list[str]) -> RatedAnswer:
    article, paragraph = _first_passage(row.passages)
    return RatedAnswer(
        answer_id=row.answer_id,
        question=row.question,
        asked_at=_utc(row.asked_at),
        article=article,
        paragraph=paragraph,
        helpful=int(row.helpful),
        not_helpful=int(row.not_helpful),
        comments=tuple(comments[:COMMENTS]),
    )


def _first_passage(passages: Any) -> tuple[str | None, int | None]:
    """(article, paragraph) of the first passage an answer showed; (None, None) when it showed none."""
    if isinstance(passages, list) and passages and isinstance(passages[0], dict):
        article, paragraph = passages[0].get("article"), passages[0].get("paragraph")
        return (
            str(article) if article is not None else None,
            paragraph if isinstance(paragraph, int) else None,
        )
    return None, None


def _comments(
    connection: Connection, answer_ids: list[str], start: datetime, end: datetime
) -> dict[str, list[str]]:
    if not answer_ids:
        return {}
    query = (
        select(votes.c.answer_id, votes.c.comment)
        .where(
            votes.c.answer_id.in_(answer_ids),
            _voted_in(start, end),
            votes.c.comment.is_not(None),
        )
        .order_by(votes.c.voted_at.desc())
    )
    comments: dict[str, list[str]] = {}
    for answer_id, comment in connection.execute(query):
        if comment.strip():
            comments.setdefault(answer_id, []).append(comment.strip())
    return comments


def _busiest_channels(
    connection: Connection, start: datetime, end: datetime, top: int
) -> tuple[ChannelCount, ...]:
    count = func.count().label("count")
    query = (
        select(questions.c.guild_id, questions.c.channel_id, count)
        .where(_asked_in(start, end))
        .group_by(questions.c.guild_id, questions.c.channel_id)
        .order_by(
            count.desc(), questions.c.guild_id.asc().nulls_last(), questions.c.channel_id.asc().nulls_last()
        )
        .limit(top)
    )
    return tuple(ChannelCount(guild, channel, n) for guild, channel, n in connection.execute(query))


def normalized(text: str) -> str:
    """The text as grouped exactly: case folded, runs of white space made one space, without the
    question mark or full stop it ends with ("who is jim kenney" asks "Who is Jim Kenney?")."""
    return " ".join(text.split()).casefold().rstrip("?.! ")


def group_questions(
    texts: Iterable[tuple[str, int]], embed: Embed | None, *, top: int = 10
) -> tuple[QuestionGroup, ...]:
    """The `top` groups of (text, count): same normalized text first, then (with `embed`) near
    duplicates by cosine, greedily: each text, most frequent first, joins the first group whose
    leading text it is near (GROUPING_COSINE), else leads a new one."""
    wordings: dict[str, Counter[str]] = {}
    for text, count in texts:
        wordings.setdefault(normalized(text), Counter())[text] += count
    # most frequent first; the wording breaks ties so the report is the same on every run
    exact = sorted(wordings.values(), key=lambda w: (-w.total(), min(w)))[:GROUPED_TEXTS]
    if not exact:
        return ()
    leaders = _leaders(exact, embed)
    members: dict[int, list[int]] = {}
    for i, leader in enumerate(leaders):
        members.setdefault(leader, []).append(i)
    groups = [
        QuestionGroup(
            question=_most_frequent(exact[leader]),
            count=sum(exact[i].total() for i in indexes),
            examples=tuple(_most_frequent(exact[i]) for i in indexes[1 : 1 + EXAMPLES]),
        )
        for leader, indexes in members.items()
    ]
    groups.sort(key=lambda g: -g.count)  # stable: equal counts keep the leaders' order
    return tuple(groups[:top])


def _most_frequent(wording: Counter[str]) -> str:
    return min(wording, key=lambda text: (-wording[text], text))


def _leaders(exact: list[Counter[str]], embed: Embed | None) -> list[int]:
    """For each exact group (most frequent first), the index of the group it joins."""
    if embed is None:
        return list(range(len(exact)))
    vectors = np.asarray(embed([_most_frequent(w) for w in exact]), dtype=np.float32)
    if vectors.shape[0] != len(exact):
        raise ValueError(f"embed gave {vectors.shape[0]} vectors for {len(exact)} texts")
    near = (vectors @ vectors.T) >= GROUPING_COSINE
    leaders: list[int] = []
    heads: list[int] = []
    for i in range(len(exact)):
        leader = next((head for head in heads if near[i, head]), i)
        if leader == i:
            heads.append(i)
        leaders.append(leader)
    return leaders
