"""`run_bot.py cluster`: shards split over processes, started one after another, a dead process
started again with backoff, a settings error stopping everything, and a clean stop. The processes
are small real ones standing in for the bot (it takes seconds to load a model)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.cluster import READY_MARK, Cluster, shard_list, slices

# A bot process as the supervisor sees it: logs when its shards are ready, runs until SIGTERM.
# BOT_EXIT makes it exit with that code instead, the first time only (a marker file remembers).
FAKE_BOT = f"""
import os, signal, sys, time
log = os.environ["CLUSTER_LOG"]
with open(log, "a") as out:
    shards = os.environ["SHARD_COUNT"] + " " + os.environ["SHARD_IDS"]
    out.write(f"{{time.monotonic()}} {{shards}} {{os.getpid()}}\\n")
code, marker = os.environ.get("BOT_EXIT"), log + "." + os.environ["SHARD_IDS"]
if code and not os.path.exists(marker):
    open(marker, "w").close()
    sys.exit(int(code))
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
print("INFO bot.bot: {READY_MARK} article-bot (id 1)", flush=True)
while True:
    time.sleep(0.05)
"""


def starts(log: Path) -> list[tuple[float, str, str, int]]:
    rows = [line.split() for line in log.read_text().splitlines()] if log.exists() else []
    return [(float(at), count, ids, int(pid)) for at, count, ids, pid in rows]


def cluster(tmp_path: Path, runs: list[tuple[int, ...]], lines: list[str], **env: str) -> Cluster:
    return Cluster(
        4,
        runs,
        env={**os.environ, "CLUSTER_LOG": str(tmp_path / "starts.log"), **env},
        command=(sys.executable, "-c", FAKE_BOT),
        identify_window=0.3,
        backoff=(0.05, 0.1),
        stable_seconds=60,
        output=lines.append,
    )


async def wait_for(condition, timeout: float = 10.0) -> None:  # noqa: ASYNC109
    """Poll `condition` (the processes are outside this event loop: nothing to await on)."""
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


@pytest.mark.parametrize(
    ("ids", "processes", "runs"),
    [
        ([0, 1, 2, 3], 2, [(0, 1), (2, 3)]),
        ([0, 1, 2, 3, 4], 2, [(0, 1, 2), (3, 4)]),
        ([0, 1], 4, [(0,), (1,)]),
        ([4, 5, 6, 7], 1, [(4, 5, 6, 7)]),
    ],
)
def test_shards_are_split_in_contiguous_runs(
    ids: list[int], processes: int, runs: list[tuple[int, ...]]
) -> None:
    assert slices(ids, processes) == runs


@given(st.lists(st.integers(0, 500), min_size=1, unique=True), st.integers(1, 64))
def test_every_shard_runs_in_exactly_one_process_and_the_split_is_even(
    ids: list[int], processes: int
) -> None:
    runs = slices(sorted(ids), processes)
    assert [shard for run in runs for shard in run] == sorted(ids)
    assert len(runs) == min(processes, len(ids))
    assert max(map(len, runs)) - min(map(len, runs)) <= 1


def test_shard_ids_are_written_as_a_range_when_they_are_one() -> None:
    assert (shard_list([0, 1, 2, 3]), shard_list([5]), shard_list([0, 2, 3])) == ("0-3", "5", "0,2,3")


async def test_processes_start_one_after_another_each_with_its_shards(tmp_path: Path) -> None:
    lines: list[str] = []
    supervisor = cluster(tmp_path, [(0, 1), (2, 3)], lines)
    running = asyncio.create_task(supervisor.run())
    await wait_for(lambda: all(m.ready.is_set() for m in supervisor.members))
    supervisor.stop()

    assert await running == 0
    first, second = starts(tmp_path / "starts.log")
    assert (first[1:3], second[1:3]) == (("4", "0-1"), ("4", "2-3"))
    assert second[0] - first[0] >= 0.3  # the identify window after the first was ready
    assert any(line.startswith(f"[shards 2-3] INFO bot.bot: {READY_MARK}") for line in lines)
    assert all(m.process is not None and m.process.returncode == 0 for m in supervisor.members)


async def test_a_process_that_dies_is_started_again(tmp_path: Path) -> None:
    supervisor = cluster(tmp_path, [(0, 1), (2, 3)], [])
    running = asyncio.create_task(supervisor.run())
    await wait_for(lambda: all(m.ready.is_set() for m in supervisor.members))
    victim = supervisor.members[1]
    killed = victim.process.pid
    os.kill(killed, signal.SIGKILL)
    await wait_for(lambda: victim.starts == 2 and victim.ready.is_set())
    supervisor.stop()
    await running

    restarted = [row for row in starts(tmp_path / "starts.log") if row[2] == "2-3"]
    assert len(restarted) == 2
    assert restarted[0][3] == killed
    assert restarted[1][3] != killed
    assert supervisor.members[0].starts == 1  # the other process was left alone


async def test_a_process_exiting_with_a_settings_error_stops_the_cluster_with_2(tmp_path: Path) -> None:
    supervisor = cluster(tmp_path, [(0, 1), (2, 3)], [], BOT_EXIT="2")
    assert await asyncio.wait_for(supervisor.run(), 10) == 2
    assert [row[2] for row in starts(tmp_path / "starts.log")] == ["0-1"]  # nothing more was started


async def test_a_crash_at_start_is_retried_after_a_backoff(tmp_path: Path) -> None:
    supervisor = cluster(tmp_path, [(0, 1)], [], BOT_EXIT="1")
    running = asyncio.create_task(supervisor.run())
    await wait_for(lambda: supervisor.members[0].ready.is_set())
    supervisor.stop()
    assert await running == 0
    first, second = starts(tmp_path / "starts.log")
    assert second[0] - first[0] >= 0.05
