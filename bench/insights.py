"""The insights report over a big question log: fills a SQLite database with a million questions over
90 days (half "high", 30% "low", 20% "none"; 50,000 votes) and times `build_report(days=90)` with a
stub embedding (hash-seeded vectors: the report's own cost) and with the real model (loaded first).

    python -m bench.insights [--questions N] [--votes N] [--db PATH] [--no-model]

(--db: filled if missing, then kept, so the timing can be repeated on the same rows.)

The rows are written through the DB-API's executemany in big transactions, in the exact text forms
SQLAlchemy's SQLite types store (timestamps 'YYYY-MM-DD HH:MM:SS.ffffff' UTC, JSON text, 0/1), with
the tables and indexes of insights/schema.py.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine

from insights.report import build_report
from insights.schema import metadata

NOW = datetime(2026, 3, 31, 18, 0, tzinfo=UTC)
DAYS = 90
BATCH = 100_000
SUBJECTS = (
    "the mayor, the police commissioner, ICE, the city solicitor, the contract, the PARS database, "
    "the city council, the governor, the federal grants, the lawsuit, the sanctuary policy, the data, "
    "the arrests, the deportations, the immigrant groups, the Justice Department, the protesters"
).split(", ")
ASKS = (
    "What did {} say", "Who is {}", "When did {} start", "Why did {} change", "How much does {} cost",
    "Where can I read about {}", "Is {} legal", "What happens next with {}", "How many people does {} affect",
    "Who pays for {}", "What is the history of {}", "Can I contact {}",
)  # fmt: skip


def question_pool(rng: random.Random, size: int) -> list[str]:
    """`size` distinct questions, written the many ways readers type them."""
    pool: list[str] = []
    while len(pool) < size:
        base = rng.choice(ASKS).format(rng.choice(SUBJECTS)) + f" in {rng.randint(2000, 2026)}"
        pool.append(base + "?")
        pool.append(base.lower() + " ?")  # the same question, grouped with it exactly
    return pool[:size]


def _zipf(rng: np.random.Generator, size: int, count: int, power: float = 1.0) -> np.ndarray:
    """`count` indexes into `size` items, a few often and most rarely."""
    weights = 1 / np.arange(1, size + 1) ** power
    return rng.choice(size, count, p=weights / weights.sum())


def question_rows(rng: np.random.Generator, count: int) -> Iterator[tuple]:
    """The questions table's rows, in the order they were asked."""
    pool = random.Random(int(rng.integers(1 << 31)))
    answered, unanswered = np.array(question_pool(pool, 5000)), np.array(question_pool(pool, 3000))
    rolls = rng.random(count)
    confidences = np.where(rolls < 0.5, "high", np.where(rolls < 0.8, "low", "none"))
    texts = np.where(
        confidences == "none",
        unanswered[_zipf(rng, len(unanswered), count)],
        answered[_zipf(rng, len(answered), count)],
    ).astype(object)
    once = (confidences == "none") & (rng.random(count) < 0.3)  # questions nobody else asks
    texts[once] = [f"{text} (case {n})" for text, n in zip(texts[once], np.flatnonzero(once), strict=True)]
    channel = _zipf(rng, 250, count, 0.7)
    guilds = (1 + channel // 5).astype(object)
    channels = (1 + channel // 5) * 100 + 1 + channel % 5
    dm = rng.random(count) < 0.05
    guilds[dm] = None
    channels[dm] = 900_000 + np.flatnonzero(dm) % 5000
    start = np.datetime64((NOW - timedelta(days=DAYS)).replace(tzinfo=None), "us")
    asked = np.sort(rng.integers(0, DAYS * 86_400_000_000, count)).astype("timedelta64[us]") + start
    asked_text = np.datetime_as_string(asked, unit="us")
    latency = rng.uniform(5, 80, count)
    passages = json.dumps([{"article": "philadelphia-ice-arrest-data.txt", "paragraph": 3}])
    for n in range(count):
        confidence = str(confidences[n])
        yield (
            f"{n:016x}", asked_text[n].replace("T", " "), guilds[n], int(channels[n]), f"{n % 20000:064x}",
            "mention", texts[n], confidence, "[]" if confidence == "none" else passages, float(latency[n]),
        )  # fmt: skip


def vote_rows(rng: np.random.Generator, questions: int, count: int) -> Iterator[tuple]:
    """`count` votes on random answers, cast up to ten minutes after the answer."""
    start = NOW - timedelta(days=DAYS)
    for n in range(count):
        answer = int(rng.integers(questions))
        helpful = bool(rng.random() < 0.6)
        comment = None if helpful or rng.random() > 0.2 else f"I wanted to know more about item {n % 50}"
        voted = start + timedelta(seconds=DAYS * 86400 * answer / questions + rng.uniform(0, 600))
        yield (
            f"{answer:016x}", f"{n:064x}", int(helpful), comment,
            min(voted, NOW).strftime("%Y-%m-%d %H:%M:%S.%f"),
        )  # fmt: skip


def fill(path: Path, questions: int, votes: int, seed: int = 13) -> float:
    """Create the schema at `path` and write the rows; the seconds it took."""
    started = time.perf_counter()
    engine = create_engine(f"sqlite:///{path}")
    metadata.create_all(engine)
    engine.dispose()
    import sqlite3

    rng = np.random.default_rng(seed)
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    rows = question_rows(rng, questions)
    while batch := [row for _, row in zip(range(BATCH), rows, strict=False)]:
        with connection:
            connection.executemany(
                "INSERT INTO questions (answer_id, asked_at, guild_id, channel_id, user_hash, via, question, "
                "confidence, passages, latency_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                batch,
            )
    with connection:
        connection.executemany(
            "INSERT OR REPLACE INTO votes (answer_id, user_hash, helpful, comment, voted_at) "
            "VALUES (?, ?, ?, ?, ?)",
            vote_rows(rng, questions, votes),
        )
    connection.execute("ANALYZE")
    connection.close()
    return time.perf_counter() - started


def stub_embed(texts: Sequence[str]) -> np.ndarray:
    """Unit vectors seeded by each text's hash: no model, so the timing is the report's own."""
    rows = np.empty((len(texts), 384), dtype=np.float32)
    for row, text in zip(rows, texts, strict=True):
        seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
        row[:] = np.random.default_rng(seed).standard_normal(384)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def time_report(path: Path, embed, runs: int = 3) -> tuple[float, object]:
    """The best of `runs` timings of build_report(days=90) (a fresh engine each time), and the report."""
    best, report = float("inf"), None
    for _ in range(runs):
        engine = create_engine(f"sqlite:///{path}")
        started = time.perf_counter()
        report = build_report(engine, days=DAYS, now=NOW, embed=embed)
        best = min(best, time.perf_counter() - started)
        engine.dispose()
    return best, report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=1_000_000)
    parser.add_argument("--votes", type=int, default=50_000)
    parser.add_argument("--db", type=Path, help="an existing benchmark database (else one is filled)")
    parser.add_argument("--no-model", action="store_true", help="only the stub embedding")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        path = args.db or Path(folder) / "insights.sqlite3"
        if args.db is None or not args.db.exists():
            seconds = fill(path, args.questions, args.votes)
            print(f"filled {args.questions:,} questions, {args.votes:,} votes in {seconds:.1f} s "
                  f"({path.stat().st_size / 1e6:.0f} MB)")  # fmt: skip
        seconds, report = time_report(path, stub_embed)
        print(f"build_report(days=90), stub embedding: {seconds:.2f} s "
              f"({report.questions:,} questions, {report.by_confidence['none']:,} none)")  # fmt: skip
        if not args.no_model:
            from index.settings import IndexSettings
            from index.startup import load_embedder

            started = time.perf_counter()
            embedder = load_embedder(IndexSettings())
            loaded = time.perf_counter() - started
            seconds, report = time_report(path, embedder.embed)
            print(
                f"build_report(days=90), all-MiniLM-L6-v2: {seconds:.2f} s "
                f"(the model loaded before, in {loaded:.1f} s)"
            )
            for group in report.unanswered[:5]:
                print(f"  {group.count:>6}  {group.question}  (+{len(group.examples)} wordings)")


if __name__ == "__main__":
    main()
