"""`run_bot.py cluster --processes N`: the bot's shards split over N processes on this machine,
supervised (docs/scaling.md).

Each process is `run_bot.py` with SHARD_COUNT and its slice of SHARD_IDS. They start one after
another, each once the one before has all its shards connected and Discord's identify window has
passed, so no two identify at once (each process paces its own shards by `max_concurrency`). A
process that dies is started again after a backoff (1 s, doubling to a minute, back to 1 s once it
has run a while); one that exits 2 (a setting to fix) stops the cluster, since starting it again
would fail the same way. SIGTERM or SIGINT stops every process with SIGTERM and waits for them.
Their output is passed through, each line prefixed with the process's shards.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.settings import BotSettings

log = logging.getLogger(__name__)

RUN_BOT = Path(__file__).resolve().parent.parent / "run_bot.py"
READY_MARK = "connected as"  # what a bot process logs once all its shards are ready
IDENTIFY_WINDOW = 5.0  # seconds between two processes' identifies (Discord's limit per bucket)
READY_TIMEOUT = 300.0  # a process not ready by then is left to finish; the next one starts
RESTART_BACKOFF = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0)
STABLE_SECONDS = 60.0  # a process that ran this long starts its backoff afresh when it dies
STOP_TIMEOUT = 30.0  # after SIGTERM, a process still running then is killed
EXIT_CONFIG = 2
EXIT_UNREACHABLE = 3  # as the bot's own: perhaps passing, a restart may help
PR_SET_PDEATHSIG = 1  # prctl option (linux/prctl.h)


def slices(shard_ids: Sequence[int], processes: int) -> list[tuple[int, ...]]:
    """`shard_ids` in `processes` contiguous runs, as even as possible (the first ones get the
    extra shards); fewer runs when there are fewer shards than processes."""
    count = min(processes, len(shard_ids))
    size, extra = divmod(len(shard_ids), count)
    runs, start = [], 0
    for number in range(count):
        end = start + size + (number < extra)
        runs.append(tuple(shard_ids[start:end]))
        start = end
    return runs


def shard_list(ids: Sequence[int]) -> str:
    """SHARD_IDS for `ids`: "0-3" for a run, else "0,2,5"."""
    if len(ids) > 1 and list(ids) == list(range(ids[0], ids[-1] + 1)):
        return f"{ids[0]}-{ids[-1]}"
    return ",".join(map(str, ids))


@dataclass
class Member:
    """One supervised process and its shards."""

    shard_ids: tuple[int, ...]
    process: asyncio.subprocess.Process | None = None
    started_at: float = 0.0
    starts: int = 0
    failures: int = 0  # deaths in a row, each soon after its start
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def name(self) -> str:
        """How its lines are prefixed: "shards 0-3"."""
        return f"shard{'s' if len(self.shard_ids) > 1 else ''} {shard_list(self.shard_ids)}"


class Cluster:
    """Runs one process per slice of shards until stopped; `run` returns the exit code."""

    def __init__(
        self,
        shard_count: int,
        shard_slices: Sequence[Sequence[int]],
        *,
        env: Mapping[str, str],
        command: Sequence[str] = (sys.executable, str(RUN_BOT)),
        identify_window: float = IDENTIFY_WINDOW,
        backoff: Sequence[float] = RESTART_BACKOFF,
        stable_seconds: float = STABLE_SECONDS,
        ready_timeout: float = READY_TIMEOUT,
        output: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.shard_count = shard_count
        self.members = [Member(tuple(ids)) for ids in shard_slices]
        self.env = dict(env)
        self.command = list(command)
        self.identify_window = identify_window
        self.backoff = tuple(backoff)
        self.stable_seconds = stable_seconds
        self.ready_timeout = ready_timeout
        self.output = output
        self.clock = clock
        self.stopping = asyncio.Event()
        self._starting = asyncio.Lock()  # one process identifies at a time
        self._last_ready = -float("inf")
        self._exit_code = 0

    async def run(self) -> int:
        """Start every process in turn and keep them running until `stop` (or a signal); then
        stop them all. 2 when a process exited 2 (its settings are wrong), else 0."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, self.stop)
        keepers = [asyncio.create_task(self._keep(member)) for member in self.members]
        try:
            await self.stopping.wait()
        finally:
            await self._stop_all()
            for keeper in keepers:
                keeper.cancel()
            await asyncio.gather(*keepers, return_exceptions=True)
            for signum in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(signum)
        return self._exit_code

    def stop(self, exit_code: int = 0) -> None:
        """Stop every process (SIGTERM), then return `exit_code` from `run`."""
        if not self.stopping.is_set():
            self._exit_code = exit_code
            self.stopping.set()

    async def _keep(self, member: Member) -> None:
        """Start `member`'s process, and start it again whenever it dies, until stopping."""
        while not self.stopping.is_set():
            if member.failures:
                delay = self.backoff[min(member.failures, len(self.backoff)) - 1]
                log.warning("restarting %s in %.0f s", member.name, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), delay)
                if self.stopping.is_set():
                    return
            async with self._starting:
                if self.stopping.is_set():
                    return
                await self._wait_identify_window()
                process = await self._spawn(member)
                relay = asyncio.create_task(self._relay(member, process))
                ready = asyncio.create_task(member.ready.wait())
                finished = asyncio.create_task(process.wait())
                await asyncio.wait(
                    {ready, finished}, timeout=self.ready_timeout, return_when="FIRST_COMPLETED"
                )
                ready.cancel()
                self._last_ready = self.clock()
            code = await finished
            await relay
            ran = self.clock() - member.started_at
            if self.stopping.is_set():
                return
            if code == EXIT_CONFIG:
                log.error("%s exited 2 (a setting to fix, see above); stopping the cluster", member.name)
                self.stop(EXIT_CONFIG)
                return
            member.failures = 1 if ran >= self.stable_seconds else member.failures + 1
            log.warning("%s (pid %s) exited %s after %.0f s", member.name, process.pid, code, ran)

    async def _wait_identify_window(self) -> None:
        wait = self._last_ready + self.identify_window - self.clock()
        if wait > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), wait)

    async def _spawn(self, member: Member) -> asyncio.subprocess.Process:
        env = {
            **self.env,
            "SHARD_COUNT": str(self.shard_count),
            "SHARD_IDS": shard_list(member.shard_ids),
        }
        member.ready.clear()
        process = await asyncio.create_subprocess_exec(
            *self.command,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C at the terminal reaches the supervisor alone
            preexec_fn=_die_with_parent,
        )
        member.process = process
        member.started_at = self.clock()
        member.starts += 1
        log.info("started %s of %d (pid %s)", member.name, self.shard_count, process.pid)
        return process

    async def _relay(self, member: Member, process: asyncio.subprocess.Process) -> None:
        """Pass the process's output on, prefixed; notice when its shards are ready."""
        assert process.stdout is not None
        while line := await process.stdout.readline():
            text = line.decode(errors="replace").rstrip("\n")
            if READY_MARK in text:
                member.ready.set()
            self.output(f"[{member.name}] {text}")

    async def _stop_all(self) -> None:
        running = [m.process for m in self.members if m.process is not None and m.process.returncode is None]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        for process in running:
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
            except TimeoutError:
                log.warning("pid %s did not stop within %.0f s; killing it", process.pid, STOP_TIMEOUT)
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()


def _die_with_parent() -> None:
    """In the child, before exec: Linux sends it SIGTERM if the supervisor dies, even by SIGKILL,
    so no bot process is left running its shards unsupervised."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


async def recommended_shards(token: str, api_base_url: str | None) -> int:
    """How many shards Discord recommends for the bot (`GET /gateway/bot`)."""
    import discord

    from bot.endpoints import use_endpoints

    use_endpoints(api_base_url, None)
    http = discord.http.HTTPClient(asyncio.get_running_loop())
    try:
        await http.static_login(token)
        shards, _, _ = await http.get_bot_gateway()
    finally:
        await http.close()
    return int(shards)


def run(processes: int, env: Mapping[str, str] | None = None) -> int:
    """`run_bot.py cluster`: split SHARD_IDS (default: every shard of SHARD_COUNT, or of Discord's
    recommendation) over `processes` processes and supervise them; the exit code."""
    from bot.settings import BotSettings, SettingsError

    env = dict(os.environ if env is None else env)
    try:
        settings = BotSettings.from_env(env)
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    return asyncio.run(_run(settings, processes, env))


async def _run(settings: BotSettings, processes: int, env: dict[str, str]) -> int:
    count = settings.shard_count
    if count is None:
        import discord

        try:
            count = await recommended_shards(settings.token.get_secret_value(), settings.api_base_url)
        except discord.LoginFailure:
            print(
                "error: DISCORD_TOKEN: Discord rejected the token; reset it in the Developer Portal",
                file=sys.stderr,
            )
            return EXIT_CONFIG
        except (discord.HTTPException, OSError) as error:
            print(
                f"error: could not ask Discord how many shards to run ({error}); set SHARD_COUNT, or check "
                "the network and DISCORD_API_BASE_URL",
                file=sys.stderr,
            )
            return EXIT_UNREACHABLE
        log.info("Discord recommends %d shard(s)", count)
    ids = list(settings.shard_ids) if settings.shard_ids is not None else list(range(count))
    runs = slices(ids, processes)
    log.info(
        "running shards %s of %d in %d process(es): %s",
        shard_list(ids),
        count,
        len(runs),
        ", ".join(shard_list(run) for run in runs),
    )
    return await Cluster(count, runs, env=env).run()
