"""The question log's own overhead: what `record_question` costs the event loop per call, and how
many records a second the writer gets into SQLite and PostgreSQL (batches of up to 1,000, one
transaction each). The bot-level side-by-side (recording on vs off) is in `run_bot.py bench`.

    python -m bench.question_log [--postgres postgresql+psycopg://user@host/db] [--records N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.measure import median, percentile
from database.engine import migrate, open_database
from insights.recording import QuestionLog, QuestionRecord, VoteRecord, new_answer_id

KEY = b"bench-key-" * 4
USER = 987_654_321_098_765_432


def records(count: int) -> list[QuestionRecord | VoteRecord]:
    """`count` records, as the bot makes them: a question, and a vote on one answer in four."""
    made: list[QuestionRecord | VoteRecord] = []
    now = datetime.now(UTC)
    for n in range(count):
        answer = new_answer_id()
        if n % 5 == 4:
            made.append(VoteRecord(made[-1].answer_id, USER + n, n % 2 == 0, None, now))
            continue
        passages = [("philadelphia-ice-arrest-data.txt", 3), ("philadelphia-ice-arrest-data.txt", 7)]
        made.append(
            QuestionRecord(
                answer_id=answer,
                asked_at=now,
                guild_id=111_111_111_111_111_111,
                channel_id=222_222_222_222_222_222,
                user_id=USER + n,
                via="slash",
                question=f"when does the contract expire? ({n})",
                confidence="high",
                passages=passages,
                latency_ms=12.5,
            )
        )
    return made


async def enqueue_cost(url: str, count: int, repeats: int = 5) -> float:
    """Microseconds per `record_question`/`record_vote` call on the event loop (median of repeats)."""
    engine = open_database(url)
    migrate(engine)
    batch = records(count)
    costs = []
    for _ in range(repeats):
        log = QuestionLog(engine, KEY, retention_days=90, max_pending=count)
        started = time.perf_counter()
        for record in batch:
            if isinstance(record, QuestionRecord):
                log.record_question(record)
            else:
                log.record_vote(record)
        costs.append((time.perf_counter() - started) / count * 1e6)
    engine.dispose()
    return median(costs)


async def write_rate(url: str, count: int) -> dict[str, float]:
    """Records per second from the first `record_*` call until the last is in the database, and how
    late a 1 ms timer on the event loop fires meanwhile (the writer thread holds the GIL at times)."""
    engine = open_database(url)
    migrate(engine)
    log = QuestionLog(
        engine, KEY, retention_days=90, max_pending=count, flush_seconds=0.05, close_seconds=600
    )
    await log.start()
    batch = records(count)
    lateness: list[float] = []
    ticker = asyncio.create_task(tick(lateness))
    started = time.perf_counter()
    for n, record in enumerate(batch):
        if isinstance(record, QuestionRecord):
            log.record_question(record)
        else:
            log.record_vote(record)
        if n % 100 == 99:
            await asyncio.sleep(0)  # the bot's loop does other work between questions
    await log.close()  # returns once everything queued is written
    took = time.perf_counter() - started
    ticker.cancel()
    engine.dispose()
    return {
        "records": count,
        "seconds": round(took, 3),
        "per_second": round(count / took),
        "dropped": log.dropped,
        "loop_lateness_ms_p50": round(percentile(lateness, 0.5) * 1e3, 3),
        "loop_lateness_ms_p99": round(percentile(lateness, 0.99) * 1e3, 3),
        "loop_lateness_ms_max": round(max(lateness) * 1e3, 3),
    }


async def paced(url: str, per_second: int, seconds: float) -> dict[str, float]:
    """The event loop's timer lateness with recording at a steady `per_second` (the bot's case: a
    batch every flush of a few dozen records), against the same seconds with nothing recorded."""
    engine = open_database(url)
    migrate(engine)
    batch = records(int(per_second * seconds))
    result: dict[str, float] = {"per_second": per_second}
    for mode in ("off", "on"):
        log = QuestionLog(engine, KEY, retention_days=90, close_seconds=600)
        await log.start()
        lateness: list[float] = []
        ticker = asyncio.create_task(tick(lateness))
        for record in batch:
            if mode == "on":
                log.record_question(record) if isinstance(record, QuestionRecord) else log.record_vote(record)
            await asyncio.sleep(1 / per_second)
        ticker.cancel()
        await log.close()
        result[f"loop_lateness_ms_p99_{mode}"] = round(percentile(lateness, 0.99) * 1e3, 3)
        result[f"loop_lateness_ms_max_{mode}"] = round(max(lateness) * 1e3, 3)
    engine.dispose()
    return result


async def tick(lateness: list[float]) -> None:
    """Appends how late each 1 ms sleep wakes, until cancelled."""
    while True:
        before = time.perf_counter()
        await asyncio.sleep(0.001)
        lateness.append(time.perf_counter() - before - 0.001)


async def main(postgres: str | None, count: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-log-") as scratch:
        urls = {"sqlite": f"sqlite:///{Path(scratch) / 'bot.sqlite3'}"}
        if postgres:
            urls["postgresql"] = postgres
        results: dict[str, Any] = {}
        for name, url in urls.items():
            results[name] = {
                "enqueue_us_per_call": round(await enqueue_cost(url, count), 3),
                "write": await write_rate(url, count),
                "paced": await paced(url, per_second=200, seconds=5),
            }
        return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="a PostgreSQL database to write to (its tables are created)")
    parser.add_argument("--records", type=int, default=100_000)
    options = parser.parse_args()
    print(json.dumps(asyncio.run(main(options.postgres, options.records)), indent=2))
