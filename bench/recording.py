"""The answer path with the question log on and off, side by side (issue 13: within 5%).

What the bot does per answer when recording is on: build a `QuestionRecord` and queue it (the QA
cog's `record`), while the log's writer thread puts batches into SQLite. Measured with the real
model over the shipped article through `AsyncRetriever` (the bot's batcher): one question at a time
(latency) and 64 askers at once (throughput), alternating off and on so drift hits both alike.

    python -m bench.recording [--rounds 5] [--questions 640]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.measure import median
from bot.async_retriever import AsyncRetriever
from database.engine import migrate, open_database
from index.settings import IndexSettings
from index.startup import open_retriever
from insights.recording import QuestionLog, QuestionRecord, new_answer_id

KEY = b"bench-recording-key-of-32-bytes!"
QUESTIONS = (
    Path(__file__).resolve().parent.parent / "data" / "benchmark" / "news" / "philadelphia" / "dev.jsonl"
)


def questions(count: int) -> list[str]:
    texts = [json.loads(line)["question"] for line in QUESTIONS.read_text().splitlines() if line.strip()]
    return [texts[n % len(texts)] for n in range(count)]


async def ask(retriever: AsyncRetriever, log: QuestionLog | None, question: str) -> None:
    started = time.perf_counter()
    answer = await retriever.ask(question)
    if log is not None:  # what QA.record does
        log.record_question(
            QuestionRecord(
                answer_id=new_answer_id(),
                asked_at=datetime.now(UTC),
                guild_id=1,
                channel_id=2,
                user_id=3,
                via="slash",
                question=answer.question,
                confidence=answer.confidence,
                passages=[(hit.passage.source, hit.passage.paragraph) for hit in answer.hits],
                latency_ms=(time.perf_counter() - started) * 1000,
            )
        )


async def latency_ms(retriever: AsyncRetriever, log: QuestionLog | None, texts: list[str]) -> float:
    took = []
    for text in texts:
        started = time.perf_counter()
        await ask(retriever, log, text)
        took.append((time.perf_counter() - started) * 1000)
    return median(took)


async def throughput(
    retriever: AsyncRetriever, log: QuestionLog | None, texts: list[str], askers: int
) -> float:
    queue = list(texts)

    async def asker() -> None:
        while queue:
            await ask(retriever, log, queue.pop())

    started = time.perf_counter()
    await asyncio.gather(*(asker() for _ in range(askers)))
    return len(texts) / (time.perf_counter() - started)


async def main(rounds: int, count: int) -> dict[str, float]:
    retriever, _ = open_retriever(IndexSettings.from_env())
    answering = AsyncRetriever(retriever, max_pending=10_000)
    texts = questions(count)
    with tempfile.TemporaryDirectory() as folder:
        engine = open_database(f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
        migrate(engine)
        log = QuestionLog(engine, KEY, retention_days=90)
        await log.start()
        await latency_ms(answering, None, texts[:50])  # warm up
        results: dict[str, list[float]] = {"latency off": [], "latency on": [], "qps off": [], "qps on": []}
        for _ in range(rounds):
            for state, recorder in (("off", None), ("on", log)):
                results[f"latency {state}"].append(await latency_ms(answering, recorder, texts[:100]))
                results[f"qps {state}"].append(await throughput(answering, recorder, texts, 64))
        await log.close()
        written, dropped = log.written, log.dropped
        engine.dispose()
    await answering.close()
    summary = {name: median(values) for name, values in results.items()}
    summary["written"], summary["dropped"] = written, dropped
    return summary


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--questions", type=int, default=640)
    args = parser.parse_args()
    found = asyncio.run(main(args.rounds, args.questions))
    print(json.dumps(found, indent=1))
    print(
        f"latency {found['latency off']:.2f} → {found['latency on']:.2f} ms "
        f"({found['latency on'] / found['latency off'] - 1:+.1%}); 64 askers {found['qps off']:.0f} → "
        f"{found['qps on']:.0f} q/s ({found['qps on'] / found['qps off'] - 1:+.1%})"
    )
