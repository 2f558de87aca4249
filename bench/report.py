"""The benchmark's results as a terminal table, as docs/benchmarks.md, and as PNG plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

NAIVE = "torch"


def _ms(value: float) -> str:
    return f"{value:.2f} ms" if value < 10 else f"{value:.1f} ms"


def _s(value: float) -> str:
    return f"{value:.2f} s" if value >= 0.1 else f"{value * 1000:.0f} ms"


def _ratio(value: float, target: str) -> str:
    return f"{value:.2f}× (target {target})"


def headline(results: dict[str, Any]) -> list[tuple[str, str]]:
    """The targets of issue 5 as (what, measured) rows."""
    latency = results["latency"]
    default = results["throughput"]["backend"]
    rows = [
        (
            f"1. one question in process, {default} vs {NAIVE}",
            _ratio(latency[default]["ask_p50_ms"] / latency[NAIVE]["ask_p50_ms"], "≤ 0.4×")
            + f": {_ms(latency[default]['ask_p50_ms'])} vs {_ms(latency[NAIVE]['ask_p50_ms'])}",
        )
    ]
    tp = results["throughput"]
    at64 = tp["batcher"][64]["per_s"]
    rows.append(
        (
            "2. 64 concurrent via the batcher vs raw batched encode",
            _ratio(at64 / tp["raw_encode_per_s"], "≥ 0.7×")
            + f": {at64:.0f} vs {tp['raw_encode_per_s']:.0f} q/s",
        )
    )
    rows.append(
        (
            "2. 64 concurrent via the batcher vs one at a time",
            _ratio(at64 / tp["one_at_a_time_per_s"], "≥ 3×")
            + f": {tp['one_at_a_time_per_s']:.0f} q/s one at a time",
        )
    )
    synthetic = results["cold_start_synthetic"]
    rows.append(
        (
            f"3. index load share of ready, {results['reindex']['passages']} passages",
            f"{synthetic['index_s'] / synthetic['ready_s']:.1%} (target ≤ 5%): "
            f"{_s(synthetic['index_s'])} of {_s(synthetic['ready_s'])}",
        )
    )
    reindex = results["reindex"]
    rows.append(
        (
            "4. full build vs raw batched encode (units/s)",
            _ratio(reindex["full_units_per_s"] / reindex["raw_encode_units_per_s"], "≥ 0.8×")
            + f": {reindex['full_units_per_s']:.0f} vs {reindex['raw_encode_units_per_s']:.0f}",
        )
    )
    rows.append(
        (
            "4. one-paragraph reindex vs full build",
            f"{reindex['one_paragraph_s'] / reindex['full_s']:.1%} (target ≤ 10%): "
            f"{_s(reindex['one_paragraph_s'])} vs {_s(reindex['full_s'])}",
        )
    )
    largest = results["scale"]["clustered"][-1]
    rows.append(
        (
            f"5. search p50 / recall@10 at {largest['vectors']:,} vectors",
            f"{_ms(largest['search_p50_ms'])} (target ≤ 10 ms), "
            f"recall {largest['recall_at_10']:.3f} (target ≥ 0.95)",
        )
    )
    cold = results["cold_start"]
    rows.append(
        (
            "6. peak RSS, shipped article, first answer",
            f"{cold[default]['peak_mb']:.0f} MB ({default}) vs {cold[NAIVE]['peak_mb']:.0f} MB ({NAIVE})",
        )
    )
    stages = results["stages"]
    for corpus, label in (
        ("shipped", "shipped article"),
        ("synthetic", f"{stages['synthetic_passages']:,} passages"),
    ):
        one, batch = stages[corpus]["one"], stages[corpus]["batch64"]
        rows.append(
            (
                f"7. candidates + features + scoring per question beyond the FAISS search, {label} "
                "(issue 11: ≤ 1 ms)",
                f"{_ms(one['features_ms'] + one['score_ms'])} one at a time, "
                f"{_ms(batch['features_ms'] + batch['score_ms'])} in a batch of 64",
            )
        )
    return rows


def terminal_table(results: dict[str, Any]) -> str:
    """The headline rows, aligned, for the terminal."""
    rows = headline(results)
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def plots(results: dict[str, Any], directory: Path) -> list[str]:
    """latency-vs-size.png and concurrency.png in `directory`; returns their file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    sizes = results["scale"]["clustered"]
    figure, axis = plt.subplots(figsize=(6, 4))
    counts = [row["vectors"] for row in sizes]
    axis.loglog(counts, [row["exact_p50_ms"] for row in sizes], "o--", label="exact (flat) search")
    axis.loglog(counts, [row["search_p50_ms"] for row in sizes], "o-", label="automatic choice (flat → IVF)")
    axis.axhline(10, color="grey", linewidth=0.8, linestyle=":", label="10 ms target")
    axis.set_xlabel("vectors in the index")
    axis.set_ylabel(f"p50 of one search for {256} candidates (ms)")
    axis.set_title("FAISS candidate search vs corpus size")
    axis.legend()
    figure.tight_layout()
    figure.savefig(directory / "benchmarks-latency-vs-size.png", dpi=110)
    plt.close(figure)

    batcher = results["throughput"]["batcher"]
    levels = sorted(int(level) for level in batcher)
    figure, left = plt.subplots(figsize=(6, 4))
    left.plot(
        levels, [batcher[level]["per_s"] for level in levels], "o-", color="tab:blue", label="throughput"
    )
    left.axhline(
        results["throughput"]["raw_encode_per_s"], color="tab:blue", linestyle=":", label="raw batched encode"
    )
    left.axhline(
        results["throughput"]["one_at_a_time_per_s"], color="tab:gray", linestyle="--", label="one at a time"
    )
    left.set_xscale("log", base=2)
    left.set_xticks(levels, [str(level) for level in levels])
    left.set_xlabel("concurrent askers")
    left.set_ylabel("questions per second")
    right = left.twinx()
    right.plot(
        levels, [batcher[level]["p99_ms"] for level in levels], "s-", color="tab:red", label="p99 latency"
    )
    right.set_ylabel("p99 latency (ms)", color="tab:red")
    handles = left.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    left.legend(handles=handles, loc="upper left", fontsize="small")
    left.set_title("AnswerBatcher: throughput and p99 vs concurrency")
    figure.tight_layout()
    figure.savefig(directory / "benchmarks-concurrency.png", dpi=110)
    plt.close(figure)
    return ["benchmarks-latency-vs-size.png", "benchmarks-concurrency.png"]


def markdown(results: dict[str, Any], images: list[str]) -> str:
    """The measured half of docs/benchmarks.md (the prose around it lives in bench/template.md)."""
    machine = results["machine"]
    versions = ", ".join(f"{name} {version}" for name, version in machine["versions"].items())
    parts = [
        "## Machine\n",
        f"{machine['cpu']}, {machine['cores']} cores, {machine['ram_gb']} GB RAM, "
        f"Python {machine['python']}; "
        f"{versions}. Load average when the run started: "
        + ", ".join(f"{value:.2f}" for value in machine["load_average"])
        + f". Whole run: {results['seconds']:.0f} s.\n",
        "## Targets\n",
        _table(["target", "measured"], [[name, value] for name, value in headline(results)]),
    ]

    latency = results["latency"]
    rows = []
    for backend, row in latency.items():
        quality = row["quality"]
        rows.append(
            [
                backend,
                _s(row["load_s"]),
                _ms(row["embed_p50_ms"]),
                _ms(row["ask_p50_ms"]),
                _ms(row["ask_p99_ms"]),
                f"{quality['recall_at_1']:.3f} / {quality['recall_at_3']:.3f} / {quality['mrr_at_3']:.3f}",
                f"{quality['off_topic_abstention']:.3f} / {quality['false_abstention']:.3f} / "
                f"{quality['near_topic_high']}",
                f"{row.get('same_top3_as_torch', float('nan')):.0%}",
                f"{row['alone_vs_batch_min_cos']:.4f}",
                f"{results['encode_units_per_s'][backend]:.0f}",
            ]
        )
    extra_rows = [
        [
            backend,
            name.removeprefix("quality_"),
            f"{q['recall_at_1']:.3f}",
            f"{q['recall_at_3']:.3f}",
            f"{q['mrr_at_3']:.3f}",
        ]
        for backend, row in latency.items()
        for name, q in row.items()
        if name.startswith("quality_")
    ]
    export = results["export"]
    parts += [
        "\n## 1. One question, per backend\n",
        "In process, over the shipped article; p50 over 5 rounds of the same questions (blocks per backend, "
        "order reversed each round). "
        "Quality is `index.evaluation.score` over data/benchmark/news/philadelphia/dev.jsonl with each "
        "backend's own index. "
        "`load` is the in-process model load (the ONNX file already exported). `units/s` is one batched "
        "encode of the shipped article's units. `alone vs in a batch`: the lowest cosine between a dev "
        "question embedded alone and the same question embedded among 63 others.\n",
        _table(
            [
                "backend",
                "load",
                "embed p50",
                "ask p50",
                "ask p99",
                "R@1 / R@3 / MRR@3",
                "off-topic abst. / false abst. / near-high",
                "same top 3 as torch",
                "alone vs in a batch (min cos)",
                "units/s",
            ],
            rows,
        ),
        "\nThe other question sets of the shipped article (data/benchmark/news/philadelphia), per backend:\n",
        _table(["backend", "set", "R@1", "R@3", "MRR@3"], extra_rows),
        f"\nOne-time cost on a fresh machine: export to ONNX {_s(export['export_s'])}, int8 quantisation "
        f"{_s(export['quantize_s'])} (the first start pays it; later starts load the cached file).\n",
    ]

    tp = results["throughput"]
    rows = [
        [
            str(level),
            f"{row['per_s']:.0f}",
            _ms(row["p50_ms"]),
            _ms(row["p99_ms"]),
            f"{row['mean_batch']:.1f}",
        ]
        for level, row in sorted(tp["batcher"].items(), key=lambda item: int(item[0]))
    ]
    parts += [
        "\n## 2. Questions arriving together\n",
        f"Backend {tp['backend']}. Each asker is a closed loop (asks, awaits, asks again) through "
        "`index.batching.AnswerBatcher`; the askers of one turn ask different questions (from the question "
        "sets of the shipped article, data/benchmark/news/philadelphia), so no batch holds a question "
        "twice; medians of 3 runs. Raw "
        "batched encode: one `embed` call of 64 distinct questions, "
        f"{tp['raw_encode_per_s']:.0f} q/s. One at a time: `Retriever.ask` over the same 64, "
        f"{tp['one_at_a_time_per_s']:.0f} q/s; 64 at once through two worker threads without batching "
        f"(what the bot's AsyncRetriever does): {tp['two_threads_unbatched_per_s']:.0f} q/s. The naive "
        f"pipeline one at a time (torch, from section 1's p50): "
        f"{1000 / latency[NAIVE]['ask_p50_ms']:.0f} q/s.\n",
        _table(["concurrent askers", "questions/s", "p50", "p99", "mean batch"], rows),
        f"\n![throughput and p99 vs concurrency]({images[1]})\n",
    ]

    stage_rows = [
        [
            label,
            mode,
            _ms(row["embed_ms"]),
            _ms(row["search_ms"]),
            _ms(row["features_ms"]),
            _ms(row["score_ms"]),
        ]
        for corpus, label in (("shipped", "shipped article"), ("synthetic", "5,000 passages"))
        for mode, row in (
            ("one at a time", results["stages"][corpus]["one"]),
            ("batch of 64", results["stages"][corpus]["batch64"]),
        )
    ]
    parts += [
        "\n## 2b. Where an answer's time goes\n",
        "Milliseconds per question, p50 of 5 runs over 64 distinct questions: embedding the question; "
        "the FAISS search for candidate vectors (exact below 50,000 vectors, as before issue 11); the "
        "rest of `SearchIndex.examine` (BM25, exact cosines of the candidates' units, the feature "
        "matrix); the scorer (`Scorer.decide`: ranking and the two confidence models).\n",
        _table(
            ["index", "questions", "embed", "FAISS search", "candidates + features", "scorer"], stage_rows
        ),
    ]

    cold = results["cold_start"]
    rows = []
    for label, row in (
        *cold.items(),
        (f"{tp['backend']}, {results['reindex']['passages']} passages", results["cold_start_synthetic"]),
    ):
        rows.append(
            [
                label,
                _s(row["interpreter_s"]),
                _s(row["imports_s"]),
                _s(row["model_s"]),
                _s(row["index_s"]),
                _s(row["ready_s"]),
                _s(row["first_answer_s"]),
                f"{row['peak_mb']:.0f} MB",
                "yes" if row["torch_imported"] else "no",
            ]
        )
    cli = results["cli_answer_s"]
    parts += [
        "\n## 3. Restart with a current index\n",
        "Fresh subprocesses (`python -m bench.cold_start`), times from spawn; "
        f"medians of {cold[NAIVE]['runs']} runs each"
        + (
            f" ({results['cold_start_synthetic']['runs']} for the synthetic corpus). "
            if "cold_start_synthetic" in results
            else ". "
        )
        + "Nothing is re-embedded: the index on disk is current. Each step's figure is the median of "
        "its own durations, and ready and first answer are medians of their own, so a row's steps need "
        "not add up to its ready time.\n",
        _table(
            [
                "start",
                "interpreter",
                "imports",
                "model load",
                "index load",
                "ready",
                "first answer",
                "peak RSS",
                "torch imported",
            ],
            rows,
        ),
        "\n`python run_bot.py ask QUESTION`, start to exit: "
        + ", ".join(f"{backend} {_s(value)}" for backend, value in cli.items())
        + ".\n",
    ]
    if "index_s_runs" in results.get("cold_start_synthetic", {}):
        loads = sorted(results["cold_start_synthetic"]["index_s_runs"])
        parts.append(
            "Index load of the synthetic corpus, every run, fastest first: "
            + ", ".join(f"{value * 1000:.0f} ms" for value in loads)
            + " (the table's figure is their median).\n"
        )

    reindex = results["reindex"]
    step_rows = [[name, _s(value)] for name, value in reindex["steps"].items()]
    parts += [
        f"\n## 4. Build and reindex, {reindex['passages']} synthetic passages "
        f"({reindex['vectors']} vectors)\n",
        "Synthetic articles (`bench.corpus`): 100 files of 50 paragraphs of one or two sentences from the "
        "shipped article, each clause made unique, so the embedding cache can't skip any.\n\n"
        f"Full build (saved): {_s(reindex['full_s'])}, {reindex['full_units_per_s']:.0f} units/s. "
        f"Raw batched encode of {reindex['raw_sample']} of the same units, just before and just after the "
        "build: " + " and ".join(f"{value:.0f}" for value in reindex["raw_encode_runs"]) + " units/s. "
        f"After changing one paragraph: {_s(reindex['one_paragraph_s'])}, "
        f"{reindex['one_paragraph_embedded']} unit(s) re-embedded. Loading the saved index in process "
        f"(warm file cache): {_s(reindex['store_load_s'])} to read and verify the files, "
        f"{_s(reindex['search_index_s'])} to make it searchable.\n\n"
        "Where a full build's time goes (the same functions timed one by one; embedding is the rest):\n",
        _table(["step", "time"], step_rows),
    ]

    scale_rows = [
        [
            f"{row['vectors']:,}",
            row["index"],
            _s(row["build_s"]),
            _ms(row["search_p50_ms"]),
            _ms(row["exact_p50_ms"]),
            f"{row['recall_at_10']:.3f}",
            f"{row['index_mb']:.1f} MB",
            f"{row['vectors_mb']:.1f} MB",
        ]
        for row in (*results["scale"]["clustered"], results["scale"]["uniform_forced_ivf"])
    ]
    scale_rows[-1][0] += " (uniform random, IVF forced)"
    parts += [
        "\n## 5. Scale\n",
        "Synthetic 384-d unit vectors: one topic centre per 1,000 vectors plus isotropic noise as strong "
        "as the topic (cosine ≈ 0.5 within a topic, ≈ 0 across); 200 queries drawn from the same topics. "
        "One query at a time, fetching 256 candidates as `SearchIndex.search` does. Recall@10: share of "
        "the exact top 10 among the candidates once they are ranked exactly (as the retriever ranks them). "
        "`index` is the index's own size (none for the exact one, which searches `vectors` itself); "
        "the retriever also keeps `vectors` in memory.\n",
        _table(
            ["vectors", "index", "build", "search p50", "exact p50", "recall@10", "index", "vectors"],
            scale_rows,
        ),
        f"\n![search latency vs corpus size]({images[0]})\n",
    ]

    cold_default = cold[tp["backend"]]
    memory_rows = [
        [
            backend,
            *(f"{row['rss_mb'][phase]:.0f} MB" for phase in ("imports", "model", "index", "answer")),
            f"{row['peak_mb']:.0f} MB",
        ]
        for backend, row in cold.items()
    ]
    parts += [
        "\n## 6. Memory of the running bot (shipped article)\n",
        "Resident memory of the cold-start process after each step, and its peak.\n",
        _table(
            [
                "backend",
                "after imports",
                "after model load",
                "after index load",
                "after first answer",
                "peak",
            ],
            memory_rows,
        ),
        f"\nWith {tp['backend']}, imports account for {cold_default['rss_mb']['imports']:.0f} MB and "
        f"the model adds {cold_default['rss_mb']['model'] - cold_default['rss_mb']['imports']:.0f} MB.\n",
    ]
    return "\n".join(parts)


def write_docs(results: dict[str, Any], template: Path, destination: Path) -> None:
    """docs/benchmarks.md: the template's prose with the measured sections and plots in place."""
    images = plots(results, destination.parent)
    text = template.read_text(encoding="utf-8").replace("{{measured}}", markdown(results, images))
    destination.write_text(text, encoding="utf-8")
