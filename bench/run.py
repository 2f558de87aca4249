"""Runs every part of the benchmark in order and returns the results as one JSON-able dict."""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import answering, restart, scale
from bench.corpus import write_articles
from bench.machine import describe_machine
from index.embedding import resolve_model_path
from index.evaluation import load_questions
from index.settings import IndexSettings

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parent.parent
ARTICLES = REPO / "data" / "articles"
DEV = REPO / "data" / "benchmark" / "news" / "philadelphia" / "dev.jsonl"
BACKENDS = ("torch", "onnx", "onnx-int8")


def run_all(*, quick: bool = False) -> dict[str, Any]:
    """Every measurement; `quick` shrinks sizes and repeats (a smoke run, not for the docs)."""
    started = time.perf_counter()
    results: dict[str, Any] = {"machine": describe_machine(), "quick": quick}
    questions = load_questions(DEV)
    default_backend = IndexSettings().embedding_backend
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        work = Path(scratch)
        log.info("bench: one-time ONNX export cost")
        results["export"] = answering.export_cost(resolve_model_path(None), work / "models")

        log.info("bench: backends, latency and dev-set quality")
        loaded = answering.load_backends(BACKENDS)
        embedders = {name: embedder for name, (embedder, _) in loaded.items()}
        extra = {
            path.stem: load_questions(path) for path in sorted(DEV.parent.glob("*.jsonl")) if path != DEV
        }
        results["latency"] = answering.latency_and_quality(
            embedders, ARTICLES, work, questions, rounds=2 if quick else 5, extra_sets=extra
        )
        for name, (_, load_s) in loaded.items():
            results["latency"][name]["load_s"] = load_s

        log.info("bench: micro-batching throughput")
        from index.startup import open_retriever

        shipped = IndexSettings(articles_dir=ARTICLES, index_dir=work / f"index-{default_backend}")
        retriever, _ = open_retriever(shipped, embedders[default_backend])
        # every question set together: enough distinct questions for a full batch
        texts = list(
            dict.fromkeys(q.question for question_set in (questions, *extra.values()) for q in question_set)
        )
        results["throughput"] = {"backend": default_backend} | answering.throughput(
            retriever, texts, levels=(1, 8, 64), repeats=2 if quick else 3
        )
        results["stages"] = {"shipped": answering.answer_stages(retriever, texts, repeats=2 if quick else 5)}
        paragraphs = [unit.text for unit in retriever.data.units]
        results["encode_units_per_s"] = {
            name: answering.encode_throughput(embedder, paragraphs, repeats=2)
            for name, embedder in embedders.items()
        }
        del embedders, loaded, retriever

        log.info("bench: cold starts with the shipped article")
        runs = 2 if quick else 3
        shipped_torch = IndexSettings(articles_dir=ARTICLES, index_dir=work / "index-torch")
        results["cold_start"] = {
            "torch": restart.cold_start(shipped_torch, "torch", runs),
            default_backend: restart.cold_start(shipped, default_backend, runs),
        }
        results["cli_answer_s"] = {
            "torch": restart.cli_answer(shipped_torch, "torch", 1),
            default_backend: restart.cli_answer(shipped, default_backend, runs),
        }

        passages = 500 if quick else 5000
        log.info("bench: build and reindex of %d synthetic passages", passages)
        corpus = IndexSettings(articles_dir=work / "synthetic", index_dir=work / "index-synthetic")
        write_articles(corpus.articles_dir, ARTICLES / "philadelphia-ice-arrest-data.txt", passages=passages)
        from index.startup import load_embedder

        embedder = load_embedder(IndexSettings(embedding_backend=default_backend))
        results["reindex"] = restart.reindex(corpus, embedder)
        synthetic, _ = open_retriever(corpus, embedder)
        results["stages"]["synthetic"] = answering.answer_stages(synthetic, texts, repeats=2 if quick else 5)
        results["stages"]["synthetic_passages"] = synthetic.info.passages
        del synthetic
        del embedder
        # the 5% target is a ratio of two short times: more runs for a steadier median
        results["cold_start_synthetic"] = restart.cold_start(corpus, default_backend, 4 * runs - 1)

    log.info("bench: FAISS at corpus sizes")
    sizes = (25, 10_000, 100_000) if quick else (25, 10_000, 100_000, 1_000_000)
    results["scale"] = scale.scale(sizes)
    results["seconds"] = time.perf_counter() - started
    return results
