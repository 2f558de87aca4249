"""`python run_bot.py ...` as a user runs it: a real process, the real model, a temporary INDEX_DIR.

Slow: each test starts Python and loads the model (the session's index is copied, not rebuilt).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from index.settings import IndexSettings
from tests.conftest import DEV_QUESTIONS, MODEL_CACHE, REPO

pytestmark = pytest.mark.slow

RUN_BOT = REPO / "run_bot.py"
BANNER = (
    "Terminal mode (no DISCORD_TOKEN set): type a question about the article, Ctrl-D to quit. "
    "To run the Discord bot, put DISCORD_TOKEN in .env (see README)."
)
ANSWERABLE = "When does the contract expire?"
OFF_TOPIC = "How do I bake sourdough bread?"


@pytest.fixture
def env(tmp_path: Path, real_index: IndexSettings) -> dict[str, str]:
    """The environment of a fresh checkout: no Discord token, no .env; INDEX_DIR is a copy of the
    session's index; MODEL_CACHE_DIR links to the shared model cache."""
    shutil.copytree(real_index.index_dir, tmp_path / "index")
    (tmp_path / "models").symlink_to(MODEL_CACHE, target_is_directory=True)
    environment = {name: value for name, value in os.environ.items() if name != "DISCORD_TOKEN"}
    environment.update(
        ARTICLES_DIR=str(real_index.articles_dir),
        INDEX_DIR=str(tmp_path / "index"),
        MODEL_CACHE_DIR=str(tmp_path / "models"),
        PYTHON_DOTENV_DISABLED="1",
        LOG_LEVEL="INFO",
    )
    return environment


def run(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(RUN_BOT), *args],
        input=stdin,
        env=env,
        cwd=Path(env["INDEX_DIR"]).parent,  # nothing may depend on the repository as working dir
        capture_output=True,
        text=True,
        timeout=300,
    )


def assert_answer_line(line: str, question: str, k: int) -> dict:
    row = json.loads(line)
    assert list(row) == ["question", "confidence", "passages", "took_ms"]
    assert row["question"] == question
    assert row["confidence"] in {"high", "low", "none"}
    assert isinstance(row["took_ms"], float)
    assert isinstance(row["passages"], list)
    assert len(row["passages"]) <= k
    for passage in row["passages"]:
        assert list(passage) == ["text", "score", "article", "paragraph", "url"]
        assert isinstance(passage["text"], str)
        assert isinstance(passage["score"], float)
        assert passage["article"] == "Philadelphia To Stop Giving ICE Real-Time Arrest Data"
        assert isinstance(passage["paragraph"], int)
        assert not isinstance(passage["paragraph"], bool)
    return row


def test_ask_json_prints_only_one_json_line_per_question_in_order(env: dict[str, str]):
    result = run(env, "ask", "--json", ANSWERABLE, OFF_TOPIC)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    first = assert_answer_line(lines[0], ANSWERABLE, 3)
    second = assert_answer_line(lines[1], OFF_TOPIC, 3)
    assert first["confidence"] != "none"
    assert "expires Aug. 31" in first["passages"][0]["text"]
    assert first["passages"][0]["paragraph"] == 3
    assert second == {**second, "confidence": "none", "passages": []}
    assert "Traceback" not in result.stderr


def test_ask_json_reads_stdin_and_k_1_gives_at_most_one_passage(env: dict[str, str]):
    questions = ["Who is the city solicitor?", OFF_TOPIC, "What is Juntos?"]

    result = run(env, "ask", "--json", "--k", "1", stdin="\n".join([questions[0], "", *questions[1:]]) + "\n")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    rows = [assert_answer_line(line, question, 1) for line, question in zip(lines, questions, strict=True)]
    assert [len(row["passages"]) for row in rows] == [1, 0, 1]


def test_reindex_reuses_every_vector_of_an_index_that_is_up_to_date(env: dict[str, str]):
    result = run(env, "reindex")

    assert result.returncode == 0, result.stderr
    match = re.fullmatch(
        r"articles 1, passages (\d+), embedded 0, reused (\d+), seconds \d+\.\d\d\n", result.stdout
    )
    assert match, result.stdout
    assert int(match[1]) == 17  # the caption and 16 paragraphs
    assert int(match[2]) >= int(match[1])
    assert "index built" in result.stderr  # the log goes to stderr


def test_eval_prints_the_metrics(env: dict[str, str]):
    result = run(env, "eval", str(DEV_QUESTIONS))

    assert result.returncode == 0, result.stderr
    for metric in ["Recall@1", "Recall@3", "MRR@3", "off-topic abstention", "false abstention"]:
        assert re.search(rf"^{re.escape(metric)} +[01]\.\d{{3}}", result.stdout, re.MULTILINE), metric
    assert re.search(r"^near-topic not high +[01]\.\d{3} \(1 questions\)$", result.stdout, re.MULTILINE)


def test_without_a_token_it_chats_in_the_terminal_until_end_of_input(env: dict[str, str]):
    result = run(env, stdin=f"{ANSWERABLE}\n\n{OFF_TOPIC}\n")

    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[0] == BANNER
    assert "[Philadelphia To Stop Giving ICE Real-Time Arrest Data · ¶3]" in result.stdout
    assert "expires Aug. 31" in result.stdout
    assert "The article doesn't seem to cover that." in result.stdout
    assert "> " not in result.stdout  # no prompt when stdin is not a terminal


@pytest.mark.parametrize(
    "command", [[], ["ask"], ["reindex"], ["eval"]], ids=["default", "ask", "reindex", "eval"]
)
def test_help_works_without_loading_anything(env: dict[str, str], command: list[str]):
    result = run(env, *command, "--help")

    assert result.returncode == 0
    assert result.stdout.startswith("usage: run_bot.py")
    assert result.stderr == ""


def test_a_missing_articles_dir_is_a_one_line_error_without_traceback(env: dict[str, str], tmp_path: Path):
    env["ARTICLES_DIR"] = str(tmp_path / "no-such-dir")

    result = run(env, "ask", ANSWERABLE)

    assert result.returncode != 0
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert (
        result.stderr.splitlines()[-1] == f"error: ARTICLES_DIR '{tmp_path / 'no-such-dir'}' does not exist"
    )


OFFLINE_PRELUDE = """
import socket, sys

def refuse(*args, **kwargs):
    sys.stderr.write(f"NETWORK ATTEMPT {args!r}\\n")
    raise OSError("networking is disabled in this test")

socket.socket.connect = socket.socket.connect_ex = refuse
socket.create_connection = socket.getaddrinfo = socket.gethostbyname = refuse
repo, question = sys.argv[1:]
sys.path.insert(0, repo)
import run_bot
sys.exit(run_bot.main(["ask", "--json", question]))
"""


@pytest.mark.parametrize(
    ("backend", "fresh_cache"),
    [("onnx", True), ("torch", False)],
    ids=["onnx-first-run-export", "torch"],
)
def test_it_answers_with_networking_disabled(
    env: dict[str, str], tmp_path: Path, backend: str, fresh_cache: bool
):
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        env.pop(name, None)  # run_bot and index.embedding must switch the hub off themselves
    env["EMBEDDING_BACKEND"] = backend
    if fresh_cache:  # a first run: the ONNX export happens offline too
        (tmp_path / "models").unlink()

    result = subprocess.run(
        [sys.executable, "-c", OFFLINE_PRELUDE, str(REPO), ANSWERABLE],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stderr
    assert "NETWORK ATTEMPT" not in result.stderr
    row = assert_answer_line(result.stdout.strip(), ANSWERABLE, 3)
    assert "expires Aug. 31" in row["passages"][0]["text"]
