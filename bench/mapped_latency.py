"""What serving from the memory-mapped model costs a question: the shipped article's dev questions
asked one at a time with the session on the mapped copy and with one on the export (each process's
private copy of the weights), in alternating blocks, in one process, with the real model.

    python -m bench.mapped_latency [ROUNDS]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from bench.measure import percentile
from bench.process_memory import DEV_QUESTIONS
from index.onnx_backend import OnnxEmbedder
from index.retriever import Retriever
from index.settings import IndexSettings
from index.startup import load_embedder, open_index


def main(rounds: int) -> None:
    settings = IndexSettings()
    mapped = load_embedder(settings)
    if not isinstance(mapped, OnnxEmbedder):
        raise SystemExit("EMBEDDING_BACKEND is torch: nothing is mapped")
    private = OnnxEmbedder(mapped.model_path, mapped.onnx_path, identity=mapped.identity, mapped=False)
    data, _ = open_index(settings, mapped)
    retrievers = {
        f"mapped ({mapped.session_path.parent.name})": Retriever(mapped, data, settings=settings),
        f"private ({private.session_path.name})": Retriever(private, data, settings=settings),
    }
    questions = [json.loads(line)["question"] for line in DEV_QUESTIONS.read_text().splitlines() if line]
    for retriever in retrievers.values():  # warm up both
        for question in questions[:5]:
            retriever.ask(question)
    timings: dict[str, list[float]] = {name: [] for name in retrievers}
    for number in range(rounds):
        order = list(retrievers) if number % 2 == 0 else list(reversed(retrievers))
        for name in order:
            for question in questions:
                started = time.perf_counter()
                retrievers[name].ask(question)
                timings[name].append((time.perf_counter() - started) * 1000)
    print(f"{len(questions)} questions one at a time, {rounds} rounds, alternating")
    print(f"{'session':60} {'median ms':>10} {'p95 ms':>8}")
    for name, values in timings.items():
        print(f"{name:60} {statistics.median(values):10.2f} {percentile(values, 0.95):8.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rounds", type=int, nargs="?", default=10)
    main(parser.parse_args().rounds)
