"""`python run_bot.py` with DISCORD_TOKEN as a supervisor runs it: a real process, signalled while
it starts. Slow: each run imports discord.py and loads the real model."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import MODEL_CACHE, REPO, SHIPPED_ARTICLE

pytestmark = pytest.mark.slow

RUN_BOT = REPO / "run_bot.py"
TOKEN = "MTIz.secret.token-value"


@pytest.fixture
def black_hole() -> Iterator[str]:
    """An API base URL on this machine that accepts connections and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


@pytest.fixture
def env(tmp_path: Path, black_hole: str) -> dict[str, str]:
    """A token, Discord at `black_hole`, the shipped article and an empty INDEX_DIR (so the start
    builds the index with the real model)."""
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / SHIPPED_ARTICLE.name).write_bytes(SHIPPED_ARTICLE.read_bytes())
    (tmp_path / "models").symlink_to(MODEL_CACHE, target_is_directory=True)
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DISCORD_", "EMBEDDING_", "INDEX_", "ARTICLES_", "LOG_LEVEL"))
    }
    environment.update(
        DISCORD_TOKEN=TOKEN,
        DISCORD_API_BASE_URL=black_hole,
        ARTICLES_DIR=str(articles),
        INDEX_DIR=str(tmp_path / "index"),
        MODEL_CACHE_DIR=str(tmp_path / "models"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.sqlite3'}",
        QUESTION_LOG_SECRET="test-secret-of-some-length",
        PYTHON_DOTENV_DISABLED="1",
        LOG_LEVEL="INFO",
    )
    return environment


def catches_sigterm(pid: int) -> bool:
    """Whether the process has its own SIGTERM handler yet (Linux: SigCgt in /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1)))
    return False


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.005)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc/PID/status (Linux)")
@pytest.mark.parametrize(
    "moment",
    ["as soon as it handles SIGTERM", "while it builds the index", "while it logs in"],
)
def test_sigterm_at_any_moment_of_the_start_up_exits_0(env: dict[str, str], tmp_path: Path, moment: str):
    log = tmp_path / "bot.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, str(RUN_BOT)], env=env, cwd=tmp_path, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        if moment == "as soon as it handles SIGTERM":  # from then on: importing discord.py, the index
            wait_until(lambda: catches_sigterm(process.pid), "SIGTERM handler", timeout=10)
        else:
            says = "rebuilding the index" if moment == "while it builds the index" else "logging in"
            wait_until(lambda: says in log.read_text(), repr(says))
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
    finally:
        process.kill()
        process.wait()

    output = log.read_text()
    assert code == 0, output
    assert "Traceback" not in output
    assert TOKEN not in output
    assert "stopping: " in output
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(("index.", ".index"))]  # no leftovers
