"""What answering a follow-up in its conversation costs (issue 15: no more than one more vector
operation per question): each last question of the shipped article's follow-up set asked alone
and as the next turn of its conversation, in alternating blocks, in-process, with the real model.

    python -m bench.followup_latency [ROUNDS]
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench.followups import FOLLOWUPS, load
from bench.measure import percentile
from index.conversation import Turn, looks_like_a_follow_up, turn_of
from index.settings import IndexSettings
from index.startup import load_embedder, open_retriever


def main(rounds: int) -> None:
    settings = IndexSettings()
    retriever, _ = open_retriever(settings, load_embedder(settings))
    conversations = load(FOLLOWUPS / "philadelphia.jsonl")
    turns: list[list[Turn]] = []
    for conversation in conversations:
        earlier: list[Turn] = []
        for question in conversation.previous:
            earlier.append(turn_of(retriever.ask(question, after=earlier)))
        turns.append(earlier)
    for conversation in conversations[:5]:  # warm up both ways
        retriever.ask(conversation.question)
    timings: dict[str, list[float]] = {"alone": [], "in its conversation": []}
    for number in range(rounds):
        ways = list(timings) if number % 2 == 0 else list(reversed(timings))
        for way in ways:
            for conversation, earlier in zip(conversations, turns, strict=True):
                started = time.perf_counter()
                retriever.ask(conversation.question, after=earlier if way != "alone" else ())
                timings[way].append((time.perf_counter() - started) * 1000)
    gated = sum(looks_like_a_follow_up(c.question) for c in conversations)
    print(
        f"{len(conversations)} last questions ({gated} look like follow-ups, so are asked twice), "
        f"{rounds} rounds, alternating"
    )
    print(f"{'asked':24} {'median ms':>10} {'p95 ms':>8}")
    for way, values in timings.items():
        print(f"{way:24} {statistics.median(values):10.2f} {percentile(values, 0.95):8.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rounds", type=int, nargs="?", default=20)
    main(parser.parse_args().rounds)
