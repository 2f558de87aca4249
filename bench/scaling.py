"""Scale-out figures for docs/scaling.md: `run_bot.py cluster` against the local Discord stand-in
(tests/e2e/stand_in, serving from a thread of this process) with four guilds on two shards.

For 1 process (both shards) and 2 processes (one shard each), with the real model:
- start: from the supervisor's spawn of each process to its "connected as" line;
- memory of each bot process once ready: RSS, PSS and USS (private: what it adds to the machine);
- throughput: QUESTIONS `/ask` interactions sent as fast as the stand-in can, over the four guilds,
  answered per second (first sent to last answered), and each answer checked.

The stand-in runs on the same two cores, so the figures are a floor. `--article-change` also times
how long an article added through one process takes to be answered by every process (needs a
PostgreSQL DATABASE_URL; see docs/scaling.md).

    python -m bench.scaling [--questions 600]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT / "tests" / "e2e"))
sys.path.insert(0, str(PROJECT))

from stand_in import DiscordStandIn, Upload, many_guilds_world, shard_of  # noqa: E402

GUILDS = 4
SHARDS = 2
STARTED = re.compile(r"^(\S+ \S+) INFO +bot\.cluster: started (shards? \S+) of \d+ \(pid (\d+)\)")
READY = re.compile(r"^\[(shards? \S+)\] (\S+ \S+) INFO +bot\.bot: connected as", re.M)
QUESTIONS = ("When does the contract expire?", "What is Juntos?", "Who is the city solicitor?")


def memory(pid: int) -> dict[str, float]:
    """RSS, PSS and USS of `pid` in MB (/proc/PID/smaps_rollup)."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value, *_ = line.split()
        fields[name.rstrip(":")] = int(value) / 1024
    return {
        "rss": fields["Rss"],
        "pss": fields["Pss"],
        "uss": fields["Private_Clean"] + fields["Private_Dirty"],
    }


def stamp(text: str) -> float:
    """A log line's time (`2026-12-05 02:02:50,875`) as seconds since the epoch."""
    return time.mktime(time.strptime(text[:19], "%Y-%m-%d %H:%M:%S")) + int(text[20:23]) / 1000


async def ask_many(server: DiscordStandIn, count: int) -> dict[str, float]:
    """Send `count` /ask interactions across the guilds as fast as possible; wait for every answer."""
    users = ("rita", "ned", "mona", "adam")
    started = time.monotonic()
    sent = []
    for number in range(count):
        question = QUESTIONS[number % len(QUESTIONS)]
        sent.append(
            await server.slash_command(
                "ask",
                {"question": question},
                user=users[number % len(users)],
                channel=f"general-{number % GUILDS}",
            )
        )
    for interaction in sent:
        await server.wait_for_answer(interaction, timeout=120)
    finished = time.monotonic()
    latencies = [(s.responded_at or finished) - s.created_at for s in sent]
    return {
        "questions": count,
        "seconds": finished - started,
        "per_second": count / (finished - started),
        "p50_ms": statistics.median(latencies) * 1000,
    }


ARTICLE = """Springfield Opens Its New Aquarium {number}

The city aquarium number {number} opened on Saturday with a tank of sharks and a coral reef exhibit.

Tickets for aquarium number {number} cost twelve dollars for adults, the director said.
"""


async def article_change(server: DiscordStandIn, rounds: int) -> list[dict[str, float]]:
    """Add an article through the process of shard 0 (/article add in its guild), then ask in a
    guild of shard 1 until that process answers from it: seconds from the add sent to its reply,
    and from the reply to the other process's first answer from the new article."""
    by_shard = {shard_of(guild.id, SHARDS): index for index, guild in enumerate(server.world.guilds)}
    times = []
    for number in range(rounds):
        sent_at = time.monotonic()
        added = await server.slash_command(
            "article add",
            {"file": Upload(f"aquarium-{number}.txt", ARTICLE.format(number=number).encode())},
            user="olivia",
            channel=f"general-{by_shard[0]}",
        )
        await server.wait_for_answer(added, timeout=120)
        replied_at = time.monotonic()
        question = f"How much do tickets for aquarium number {number} cost?"
        while True:
            asked = await server.slash_command(
                "ask", {"question": question}, user="rita", channel=f"general-{by_shard[1]}"
            )
            await server.wait_for_answer(asked, timeout=60)
            if f"aquarium number {number} cost twelve" in str(asked.original):
                break
            if time.monotonic() - replied_at > 60:
                raise RuntimeError("the other process never answered from the new article")
        times.append({"add_reply_s": replied_at - sent_at, "other_process_s": time.monotonic() - replied_at})
    return times


def run(
    processes: int, questions: int, home: Path, *, database_url: str | None = None, rounds: int = 0
) -> dict[str, Any]:
    """One cluster of `processes` processes: start times, memory, throughput; with a PostgreSQL
    `database_url`, also how long an article change takes to reach the other process."""
    with DiscordStandIn.in_thread(many_guilds_world(GUILDS), shards=SHARDS) as threaded:
        server = threaded.server
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SHARD_"))},
            **server.environment(),
            "SHARD_COUNT": str(SHARDS),
            "ASK_COOLDOWN_SECONDS": "0",
            "INDEX_DIR": str(home / "index"),
            "DATABASE_URL": database_url or f"sqlite:///{home / 'bot.sqlite3'}",
            "QUESTION_LOG_SECRET": "bench-secret-of-some-length",
            "PYTHON_DOTENV_DISABLED": "1",
            "LOG_LEVEL": "INFO",
        }
        log_path = home / f"cluster-{processes}.log"
        with log_path.open("w") as log:
            spawned = time.time()
            cluster = subprocess.Popen(
                [sys.executable, str(PROJECT / "run_bot.py"), "cluster", "--processes", str(processes)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.monotonic() + 300
            while log_path.read_text().count("connected as") < processes:
                if cluster.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the cluster did not start:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.1)
            text = log_path.read_text()
            started = {name: (stamp(at), int(pid)) for at, name, pid in _started(text)}
            ready = {name: stamp(at) for name, at in READY.findall(text)}
            members = [
                {
                    "shards": name,
                    "start_s": ready[name] - at,
                    **memory(pid),
                }
                for name, (at, pid) in started.items()
            ]
            threaded.call(ask_many, server, 20, timeout=300)  # warm up every process
            load = threaded.call(ask_many, server, questions, timeout=600)
            for member, (_, pid) in zip(members, started.values(), strict=True):
                member["uss_after_load"] = memory(pid)["uss"]
            change = threaded.call(article_change, server, rounds, timeout=900) if rounds else []
            problems = server.problems()
        finally:
            cluster.terminate()
            cluster.wait(60)
    return {
        "processes": processes,
        "cluster_ready_s": max(ready.values()) - spawned,
        "members": members,
        "load": load,
        "article_change": change,
        "problems": problems,
    }


def _started(text: str) -> list[tuple[str, str, str]]:
    return [match.groups() for match in map(STARTED.match, text.splitlines()) if match]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=600)
    parser.add_argument(
        "--article-change",
        type=int,
        default=0,
        metavar="ROUNDS",
        help="with 2 processes on a temporary PostgreSQL server: add ROUNDS articles through one "
        "process and time until the other answers from each",
    )
    args = parser.parse_args()
    from index.settings import IndexSettings

    index = IndexSettings().index_dir
    if not (index / "manifest.json").exists():
        subprocess.run([sys.executable, str(PROJECT / "run_bot.py"), "reindex"], check=True)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()}")
    for processes in (1, 2):
        with tempfile.TemporaryDirectory() as folder, contextlib.ExitStack() as stack:
            home = Path(folder)
            shutil.copytree(index, home / "index")
            database_url = None
            if args.article_change and processes == 2:
                from tests.databases import new_postgres_database, running_postgres

                database_url = new_postgres_database(stack.enter_context(running_postgres()))
            rounds = args.article_change if processes == 2 else 0
            result = run(processes, args.questions, home, database_url=database_url, rounds=rounds)
        print(f"\n{processes} process(es): all shards ready {result['cluster_ready_s']:.1f} s after spawn")
        for member in result["members"]:
            print(
                f"  {member['shards']}: ready {member['start_s']:.1f} s after its start; RSS "
                f"{member['rss']:.0f} MB, PSS {member['pss']:.0f} MB, USS {member['uss']:.0f} MB "
                f"({member['uss_after_load']:.0f} MB after the load)"
            )
        load = result["load"]
        print(
            f"  {load['questions']} /ask in {load['seconds']:.1f} s: {load['per_second']:.0f} answered/s "
            f"({load['per_second'] / processes:.0f} per process), median {load['p50_ms']:.0f} ms"
        )
        for number, change in enumerate(result["article_change"], start=1):
            print(
                f"  article {number} (PostgreSQL): /article add replied in {change['add_reply_s']:.2f} s; "
                f"the other process answered from it {change['other_process_s']:.2f} s later"
            )
        print("  stand-in problems:", result["problems"] or "none")


if __name__ == "__main__":
    main()
