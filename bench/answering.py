"""Answering one question per backend (latency, dev-set quality) and many at once (micro-batching)."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.measure import median, percentile, seconds
from index.batching import MAX_BATCH, AnswerBatcher
from index.embedding import Embedder
from index.evaluation import EvalQuestion, EvalReport, score
from index.retriever import Retriever
from index.settings import IndexSettings
from index.startup import load_embedder, open_retriever

log = logging.getLogger(__name__)


def load_backends(backends: tuple[str, ...]) -> dict[str, tuple[Embedder, float]]:
    """Each backend's embedder (from the shared export cache) and its load time."""
    loaded = {}
    for backend in backends:
        started = time.perf_counter()
        embedder = load_embedder(IndexSettings(embedding_backend=backend))
        loaded[backend] = (embedder, time.perf_counter() - started)
    return loaded


def export_cost(model_path: Path, cache: Path) -> dict[str, float]:
    """Seconds of the one-time ONNX export and int8 quantisation (into a fresh cache)."""
    from index.onnx_backend import cached_model_path, export_onnx, quantize_int8

    fp32 = cached_model_path(model_path, cache, "fp32")
    fp32.parent.mkdir(parents=True, exist_ok=True)
    return {
        "export_s": seconds(lambda: export_onnx(model_path, fp32)),
        "quantize_s": seconds(lambda: quantize_int8(fp32, cached_model_path(model_path, cache, "int8"))),
    }


def _quality(report: EvalReport) -> dict[str, float]:
    """The report's metrics as the benchmark's JSON keeps them."""
    return {
        **report.metrics(),
        "off_topic_abstention": report.off_topic_abstention,
        "near_topic_high": report.near_topic_high,
    }


def latency_and_quality(
    embedders: dict[str, Embedder],
    articles: Path,
    work: Path,
    questions: list[EvalQuestion],
    rounds: int,
    extra_sets: dict[str, list[EvalQuestion]] | None = None,
) -> dict[str, Any]:
    """Per backend: dev-set metrics, and p50 of one question in process (embedding alone and the
    whole `ask`), measured in interleaved rounds so background noise hits every backend alike."""
    retrievers: dict[str, Retriever] = {}
    for backend, embedder in embedders.items():
        settings = IndexSettings(articles_dir=articles, index_dir=work / f"index-{backend}")
        retrievers[backend], _ = open_retriever(settings, embedder)
    texts = [q.question for q in questions]
    result: dict[str, Any] = {}
    rankings = {}
    for backend, retriever in retrievers.items():
        answers = retriever.ask_many(texts, 3)
        report = score(questions, answers)
        rankings[backend] = [[hit.passage for hit in a.hits] for a in answers]
        result[backend] = {"quality": _quality(report)}
    for backend, retriever in retrievers.items():
        # A text's vector should not depend on which other texts share its batch (the micro-batcher
        # mixes strangers' questions); dynamic int8 quantisation scales activations per batch.
        sample = texts[:64]
        alone = np.stack([retriever.embedder.embed([text])[0] for text in sample])
        together = retriever.embedder.embed(sample)
        result[backend]["alone_vs_batch_min_cos"] = float(np.min(np.sum(alone * together, axis=1)))
        for name, extra in (extra_sets or {}).items():
            report = score(extra, retriever.ask_many([q.question for q in extra], 3))
            result[backend][f"quality_{name}"] = _quality(report)
    reference = rankings.get("torch")
    for backend in retrievers:
        if reference is not None:
            same = sum(a == b for a, b in zip(rankings[backend], reference, strict=True))
            result[backend]["same_top3_as_torch"] = same / len(texts)
    sample = texts[:: max(1, len(texts) // 25)]
    embed_times: dict[str, list[float]] = {b: [] for b in retrievers}
    ask_times: dict[str, list[float]] = {b: [] for b in retrievers}
    order = list(retrievers)
    for number in range(rounds):
        # Blocks per backend, the order reversed every round, with a pause between blocks: one
        # backend's idle threads (torch's OpenMP pool spins after work) must not slow the next.
        for backend in order if number % 2 == 0 else reversed(order):
            retriever = retrievers[backend]
            time.sleep(0.3)
            for text in sample[:3]:  # warm-up
                retriever.ask(text)
            for text in sample:
                embed_times[backend].append(seconds(lambda r=retriever, t=text: r.embedder.embed([t])))
                ask_times[backend].append(seconds(lambda r=retriever, t=text: r.ask(t)))
    for backend in retrievers:
        result[backend]["embed_p50_ms"] = median(embed_times[backend]) * 1000
        result[backend]["ask_p50_ms"] = median(ask_times[backend]) * 1000
        result[backend]["ask_p99_ms"] = percentile(ask_times[backend], 0.99) * 1000
    return result


def encode_throughput(embedder: Embedder, texts: list[str], repeats: int = 3) -> float:
    """Texts per second of one batched `embed` call over `texts` (median of `repeats`)."""
    embedder.embed(texts[:8])
    return len(texts) / median([seconds(lambda: embedder.embed(texts)) for _ in range(repeats)])


def question_for(texts: list[str], clients: int, client: int, turn: int) -> str:
    """What `client` asks at its `turn`: the askers of one turn (who share batches) ask consecutive
    texts, so with at least `clients` distinct texts no batch holds a question twice."""
    return texts[(turn * clients + client) % len(texts)]


async def _closed_loop(
    batcher: AnswerBatcher, texts: list[str], clients: int, total: int
) -> dict[str, float]:
    latencies: list[float] = []

    async def client(number: int) -> None:
        for turn in range(total // clients):
            question = question_for(texts, clients, number, turn)
            started = time.perf_counter()
            await batcher.ask(question)
            latencies.append(time.perf_counter() - started)

    batches_before = batcher.batches
    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    wall = time.perf_counter() - started
    return {
        "per_s": len(latencies) / wall,
        "p50_ms": percentile(latencies, 0.5) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "mean_batch": len(latencies) / max(1, batcher.batches - batches_before),
    }


def throughput(
    retriever: Retriever, texts: list[str], levels: tuple[int, ...], repeats: int
) -> dict[str, Any]:
    """Questions per second: the raw batched encode, one `ask` at a time, and the batcher with
    `levels` concurrent askers (each a closed loop); medians of `repeats` runs.

    `texts` must be distinct and at least as many as the largest batch, so no batch repeats a question.
    """
    size = max(MAX_BATCH, *levels)
    if len(set(texts)) != len(texts) or len(texts) < size:
        raise ValueError(f"throughput needs {size} or more questions, none repeated; got {len(texts)}")
    batch = texts[:MAX_BATCH]
    raw = encode_throughput(retriever.embedder, batch, repeats)
    sequential = len(batch) / median(
        [seconds(lambda: [retriever.ask(t) for t in batch]) for _ in range(repeats)]
    )

    async def measure() -> dict[int, list[dict[str, float]]]:
        runs: dict[int, list[dict[str, float]]] = {level: [] for level in levels}
        async with AnswerBatcher(retriever) as batcher:
            await _closed_loop(batcher, texts, 8, 32)  # warm-up
            for _ in range(repeats):
                for level in levels:
                    runs[level].append(await _closed_loop(batcher, texts, level, max(64, 4 * level)))
        return runs

    async def unbatched() -> float:
        # The path the batcher replaces: each question its own `ask` in one of two worker threads.
        turns = asyncio.Semaphore(2)

        async def one(text: str) -> None:
            async with turns:
                await asyncio.to_thread(retriever.ask, text)

        started = time.perf_counter()
        await asyncio.gather(*(one(t) for t in batch))
        return len(batch) / (time.perf_counter() - started)

    threads = median([asyncio.run(unbatched()) for _ in range(repeats)])
    runs = asyncio.run(measure())
    batched = {
        level: {key: median([run[key] for run in results]) for key in results[0]}
        for level, results in runs.items()
    }
    return {
        "raw_encode_per_s": raw,
        "one_at_a_time_per_s": sequential,
        "two_threads_unbatched_per_s": threads,
        "batcher": batched,
    }


def answer_stages(retriever: Retriever, texts: list[str], repeats: int = 5) -> dict[str, Any]:
    """Milliseconds per question of each stage of an answer, p50 over `repeats`: embedding; the
    FAISS search alone; the rest of the candidates and their features (`SearchIndex.examine` less
    its FAISS search); and the scorer (`Scorer.decide`, ranking and confidence). One question at a
    time, and the first 64 as one batch."""
    from index.candidates import DENSE_UNITS
    from index.vector_index import nearest_rows

    index = retriever._index
    scorer = retriever.scorer

    def stages(batch: list[str]) -> tuple[float, float, float, float]:
        started = time.perf_counter()
        vectors = retriever.embedder.embed(batch)
        embedded = time.perf_counter()
        nearest_rows(index.faiss, vectors, min(DENSE_UNITS, index.faiss.ntotal))
        searched = time.perf_counter()
        examined = index.examine(batch, vectors)
        featured = time.perf_counter()
        for _, features, _ in examined:
            if len(features):
                scorer.decide(features)
        scored = time.perf_counter()
        search = searched - embedded
        return embedded - started, search, featured - searched - search, scored - featured

    result: dict[str, Any] = {}
    for name, batches in (("one", [[text] for text in texts[:64]]), ("batch64", [texts[:64]])):
        runs = [np.sum([stages(batch) for batch in batches], axis=0) for _ in range(repeats)]
        per_question = np.median(runs, axis=0) * 1000 / min(64, len(texts))
        names = ("embed_ms", "search_ms", "features_ms", "score_ms")
        result[name] = dict(zip(names, per_question.tolist(), strict=True))
    return result
