"""Restarts and rebuilds: cold starts timed in subprocesses, and a full build versus a one-paragraph
reindex of a synthetic corpus."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.measure import median, seconds
from index.aliases import learn_library_aliases
from index.articles import article_passages, load_articles
from index.build import lexical_index, model_text, plan_units, rebuild
from index.embedding import Embedder
from index.retriever import SearchIndex
from index.settings import IndexSettings
from index.store import IndexStore
from index.vector_index import build_vector_index

REPO = Path(__file__).resolve().parent.parent
QUESTION = "How many arrests did ICE make in Philadelphia?"


def _environment(settings: IndexSettings, backend: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ARTICLES_DIR=str(settings.articles_dir),
        INDEX_DIR=str(settings.index_dir),
        EMBEDDING_BACKEND=backend,
        HF_HUB_OFFLINE="1",
        PYTHONPATH=str(REPO),
    )
    env.pop("DISCORD_TOKEN", None)
    return env


def cold_start(settings: IndexSettings, backend: str, runs: int) -> dict[str, Any]:
    """Median phase times (from spawn) and memory of `runs` fresh processes getting ready and
    answering one question; the index on disk must be current."""
    results = []
    for _ in range(runs):
        spawned = time.time()
        out = subprocess.run(
            [sys.executable, "-m", "bench.cold_start", repr(spawned), backend, QUESTION],
            cwd=REPO,
            env=_environment(settings, backend),
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            raise RuntimeError(f"the cold-start child failed:\n{out.stderr[-3000:]}")
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    # Each step's median is the median of its own durations, not a difference of medians (runs slow in
    # one step and fast in another would otherwise shift a step's figure).
    steps = ("interpreter", "imports", "model", "index")
    durations = {
        step: median([r["marks"][step] - (r["marks"][before] if before else 0.0) for r in results])
        for before, step in zip((None, *steps), steps, strict=False)
    }
    memory = {name: median([r["memory_mb"][name] for r in results]) for name in results[0]["memory_mb"]}
    return {
        "runs": runs,
        "interpreter_s": durations["interpreter"],
        "imports_s": durations["imports"],
        "model_s": durations["model"],
        "index_s": durations["index"],
        "index_s_runs": [r["marks"]["index"] - r["marks"]["model"] for r in results],
        "ready_s": median([r["marks"]["index"] for r in results]),
        "first_answer_s": median([r["marks"]["answer"] for r in results]),
        "rss_mb": memory,
        "peak_mb": median([r["peak_mb"] for r in results]),
        "torch_imported": any(r["torch_imported"] for r in results),
    }


def cli_answer(settings: IndexSettings, backend: str, runs: int) -> float:
    """Median wall seconds of `python run_bot.py ask QUESTION` (start to exit) with a current index."""
    env = _environment(settings, backend)
    command = [sys.executable, str(REPO / "run_bot.py"), "ask", QUESTION]
    return median(
        [
            seconds(lambda: subprocess.run(command, cwd=REPO, env=env, capture_output=True, check=True))
            for _ in range(runs)
        ]
    )


def build_steps(settings: IndexSettings, embedder: Embedder) -> tuple[dict[str, float], list[str]]:
    """The steps of `build_index` before and after embedding, timed one by one (same functions, same
    order), and the texts it embeds."""
    steps: dict[str, float] = {}
    started = time.perf_counter()
    articles = load_articles(settings.articles_dir)
    steps["read and clean"] = time.perf_counter() - started
    started = time.perf_counter()
    passages = [
        p for a in articles.articles for p in article_passages(a, embedder.max_tokens, embedder.count_tokens)
    ]
    steps["passages (token counts)"] = time.perf_counter() - started
    started = time.perf_counter()
    aliases = learn_library_aliases(articles.articles)
    steps["aliases"] = time.perf_counter() - started
    started = time.perf_counter()
    planned = plan_units(passages)
    steps["sentences"] = time.perf_counter() - started
    started = time.perf_counter()
    texts = [model_text(text, passages[number], aliases) for number, text, _ in planned]
    steps["model text"] = time.perf_counter() - started
    started = time.perf_counter()
    lexical_index(passages, aliases)
    steps["BM25"] = time.perf_counter() - started
    return steps, texts


def reindex(settings: IndexSettings, embedder: Embedder, sample: int = 1500) -> dict[str, Any]:
    """Full build (saved) of ARTICLES_DIR against the raw batched encode of a sample of its units
    (measured before and after the build, to average out drift), the build's other steps, then a
    reindex after one paragraph of one article changed."""
    steps, texts = build_steps(settings, embedder)
    chosen = texts[:: max(1, len(texts) // sample)]
    raw = [len(chosen) / seconds(lambda: embedder.embed(chosen))]
    started = time.perf_counter()
    data, full = rebuild(settings, embedder, None)
    full_s = time.perf_counter() - started
    raw.append(len(chosen) / seconds(lambda: embedder.embed(chosen)))
    steps["vector index"] = seconds(lambda: build_vector_index(data.vectors))
    steps["save"] = seconds(lambda: IndexStore(settings.index_dir.with_name("save-test")).save(data))
    steps["embed (the rest)"] = full_s - sum(steps.values())

    first = sorted(settings.articles_dir.glob("*.txt"))[0]
    paragraphs = first.read_text(encoding="utf-8").split("\n\n")
    paragraphs[3] = paragraphs[3].replace("(case ", "(revised case ", 1)
    assert "revised" in paragraphs[3], "the synthetic paragraph format changed"
    first.write_text("\n\n".join(paragraphs), encoding="utf-8")
    started = time.perf_counter()
    _, one = rebuild(settings, embedder, data)
    one_s = time.perf_counter() - started
    started = time.perf_counter()
    loaded = IndexStore(settings.index_dir).load()
    load_s = time.perf_counter() - started
    search_index_s = seconds(lambda: SearchIndex(loaded))
    return {
        "passages": full.passages,
        "vectors": full.vectors,
        "full_s": full_s,
        "full_units_per_s": full.embedded / full_s,
        "raw_encode_units_per_s": sum(raw) / len(raw),
        "raw_encode_runs": raw,
        "raw_sample": len(chosen),
        "steps": steps,
        "one_paragraph_s": one_s,
        "one_paragraph_embedded": one.embedded,
        "store_load_s": load_s,
        "search_index_s": search_index_s,
    }
