"""Where a bot process's memory goes, and what a second process beside it adds.

    python -m bench.process_memory [--processes N] [--burst Q] [--breakdown]

Starts N fresh processes one after another (default 2), each doing what a bot process does before it
answers: import what the bot imports, load the embedder (`index.startup.load_embedder`, settings from
the environment), open the index (INDEX_DIR, default var/index: build it first with
`python run_bot.py reindex`), answer one question, then (with --burst) Q questions in one batch, as
the batcher asks them. After each step a process reads its own /proc/self/smaps_rollup:

    RSS  what is resident                  PSS  its fair share: shared pages divided among users
    USS  Private_Clean + Private_Dirty: what only this process holds, so what it adds to the machine

A process waits, ready, while the next starts; at the end every process is measured again side by
side. Only the last process's USS says what one more process costs: the first's shrinks as later
ones start mapping the files it mapped alone. Files mapped by any other program (another worktree's
tests) count as shared too, so run it on a quiet machine. --breakdown lists each process's largest
private mappings.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, TextIO

REPO = Path(__file__).resolve().parent.parent
QUESTION = "How many arrests did ICE make in Philadelphia?"
DEV_QUESTIONS = REPO / "data" / "benchmark" / "news" / "philadelphia" / "dev.jsonl"
_MAPPING = re.compile(r"^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$")


def rollup() -> dict[str, float]:
    """This process's /proc/self/smaps_rollup in MB, with USS (private clean + private dirty)."""
    fields: dict[str, float] = {}
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines()[1:]:
        name, _, value = line.partition(":")
        fields[name] = int(value.split()[0]) / 1024
    return {
        "rss": fields["Rss"],
        "pss": fields["Pss"],
        "uss": fields["Private_Clean"] + fields["Private_Dirty"],
        "anonymous": fields["Anonymous"],
    }


def private_mappings(top: int = 8) -> list[tuple[str, float]]:
    """The mappings holding the most private memory (MB), by name ([heap], [anon], a file...)."""
    totals: dict[str, float] = {}
    name = "[anon]"
    for line in Path("/proc/self/smaps").read_text().splitlines():
        mapping = _MAPPING.match(line)
        if mapping:
            name = mapping.group(1) or "[anon]"
        elif line.startswith(("Private_Clean:", "Private_Dirty:")):
            totals[name] = totals.get(name, 0.0) + int(line.split()[1]) / 1024
    return sorted(totals.items(), key=lambda item: -item[1])[:top]


def bot_imports() -> None:
    """What a bot process imports before it loads the model: the runner, its cogs, the question log."""
    import bot.exts
    import bot.runner
    import insights.recording  # noqa: F401

    for module in pkgutil.walk_packages(bot.exts.__path__, "bot.exts."):
        importlib.import_module(module.name)


def child(burst: int) -> None:
    """One process: each step, then its memory as a JSON line; then a line per "measure" on stdin."""
    started = time.perf_counter()

    def report(step: str, **extra: Any) -> None:
        line = {"step": step, "seconds": round(time.perf_counter() - started, 2), **rollup(), **extra}
        print(json.dumps(line), flush=True)

    report("interpreter")
    bot_imports()
    report("imports")
    from index.settings import IndexSettings
    from index.startup import load_embedder, open_retriever

    settings = IndexSettings.from_env()
    embedder = load_embedder(settings)
    report("model")
    retriever, built = open_retriever(settings, embedder)
    if built is not None:
        report("index", built=True)  # the parent stops: a build is not what a start measures
        return
    report("index")
    answered = time.perf_counter()
    retriever.ask(QUESTION)
    report("one answer", answer_ms=round((time.perf_counter() - answered) * 1000, 1))
    if burst:
        questions = [json.loads(line)["question"] for line in DEV_QUESTIONS.read_text().splitlines() if line]
        retriever.ask_many((questions * (burst // len(questions) + 1))[:burst])
        report(f"{burst} at once")
    print(json.dumps({"step": "ready"}), flush=True)
    for command in sys.stdin:
        if command.strip() == "measure":
            report("side by side", mappings=private_mappings())


def _read_steps(process: subprocess.Popen[str], label: str) -> list[dict[str, Any]]:
    steps = []
    assert process.stdout is not None
    for line in process.stdout:
        step = json.loads(line)
        if step["step"] == "ready":
            return steps
        if step.get("built"):
            sys.exit(f"{label} had to build the index; run `python run_bot.py reindex` first")
        steps.append(step)
    sys.exit(f"{label} ended before it was ready (exit code {process.wait()})")


def _row(label: str, step: dict[str, Any]) -> str:
    extra = f"  answer {step['answer_ms']} ms" if "answer_ms" in step else ""
    return (
        f"{label:10} {step['step']:14} {step['seconds']:7.2f} {step['rss']:8.1f} {step['pss']:8.1f} "
        f"{step['uss']:8.1f} {step['anonymous']:8.1f}{extra}"
    )


def main(processes: int, burst: int, breakdown: bool, out: TextIO = sys.stdout) -> None:
    environment = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    environment.pop("DISCORD_TOKEN", None)
    command = [sys.executable, "-m", "bench.process_memory", "--child", "--burst", str(burst)]
    running: list[subprocess.Popen[str]] = []
    print(
        f"{'process':10} {'step':14} {'s':>7} {'RSS MB':>8} {'PSS MB':>8} {'USS MB':>8} {'anon MB':>8}",
        file=out,
    )
    try:
        for number in range(1, processes + 1):
            process = subprocess.Popen(
                command, cwd=REPO, env=environment, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
            )
            running.append(process)
            for step in _read_steps(process, f"process {number}"):
                print(_row(f"{number}", step), file=out)
        for number, process in enumerate(running, 1):
            assert process.stdin is not None
            assert process.stdout is not None
            process.stdin.write("measure\n")
            process.stdin.flush()
            step = json.loads(process.stdout.readline())
            print(_row(f"{number}", step), file=out)
            if breakdown:
                for name, size in step["mappings"]:
                    print(f"{'':25} {size:8.1f} MB private  {name}", file=out)
    finally:
        for process in running:
            if process.stdin is not None:
                process.stdin.close()
        for process in running:
            process.wait(timeout=30)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--burst", type=int, default=0, help="also answer this many questions in one batch")
    parser.add_argument(
        "--breakdown", action="store_true", help="list each process's largest private mappings"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        child(arguments.burst)
    else:
        main(arguments.processes, arguments.burst, arguments.breakdown)
