"""`run_bot.py` commands run in-process with the fake embedder (the real-model runs are in
test_cli_process.py)."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from pathlib import Path

import pytest

import run_bot
from index import startup
from index.settings import IndexSettings
from tests.conftest import DEV_QUESTIONS
from tests.fakes import FakeEmbedder

LOAD_EMBEDDER = startup.load_embedder
QUESTIONS = ["When does the contract expire?", "sourdough bread baking tips"]


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, settings: IndexSettings) -> None:
    """ARTICLES_DIR and INDEX_DIR in tmp_path, no .env, no Discord token, the fake model."""
    monkeypatch.setenv("ARTICLES_DIR", str(settings.articles_dir))
    monkeypatch.setenv("INDEX_DIR", str(settings.index_dir))
    monkeypatch.setenv("PYTHON_DOTENV_DISABLED", "1")
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.delenv("LOG_LEVEL", raising=False)
    monkeypatch.setattr("index.startup.load_embedder", lambda _settings: FakeEmbedder())
    monkeypatch.setattr(run_bot, "BENCHMARK_INDEXES", settings.index_dir.parent / "benchmark")


def failure(exited: pytest.ExceptionInfo[SystemExit], capsys: pytest.CaptureFixture[str]) -> str:
    """The one line a command that failed on something the user can fix printed (it exits 2)."""
    assert exited.value.code == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line != run_bot.TERMINAL_BANNER]
    assert len(lines) == 1, lines
    return lines[0]


def stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_ask_json_answers_the_arguments_in_order(capsys: pytest.CaptureFixture[str]):
    assert run_bot.main(["ask", "--json", *QUESTIONS]) == 0

    rows = json_lines(capsys.readouterr().out)
    assert [row["question"] for row in rows] == QUESTIONS
    assert rows[0]["passages"][0]["paragraph"] == 3
    assert rows[1]["confidence"] == "none"


def test_ask_json_reads_stdin_one_question_a_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    stdin(monkeypatch, f"{QUESTIONS[0]}\n\n  \n{QUESTIONS[1]}\n{QUESTIONS[0]}")

    assert run_bot.main(["ask", "--json", "--k", "1"]) == 0

    rows = json_lines(capsys.readouterr().out)
    assert [row["question"] for row in rows] == [*QUESTIONS, QUESTIONS[0]]
    assert [len(row["passages"]) for row in rows] == [1, 0, 1]


def test_ask_as_text(capsys: pytest.CaptureFixture[str]):
    assert run_bot.main(["ask", QUESTIONS[0]]) == 0

    out = capsys.readouterr().out
    assert out.startswith(f"Q: {QUESTIONS[0]}\n")
    assert "[Philadelphia To Stop Giving ICE Real-Time Arrest Data · ¶3]" in out


@pytest.mark.parametrize("k", ["0", "21", "three"])
def test_ask_rejects_a_bad_k(k: str, capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exited:
        run_bot.main(["ask", "--k", k, "question"])

    assert exited.value.code == 2
    assert "--k" in capsys.readouterr().err


def test_reindex_prints_what_it_did(capsys: pytest.CaptureFixture[str]):
    pattern = r"articles 1, passages (\d+), embedded (\d+), reused (\d+), seconds \d+\.\d\d\n"

    assert run_bot.main(["reindex"]) == 0
    first = re.fullmatch(pattern, capsys.readouterr().out)
    assert run_bot.main(["reindex"]) == 0
    second = re.fullmatch(pattern, capsys.readouterr().out)

    assert first is not None
    assert second is not None
    assert int(first[2]) > 0
    assert int(first[3]) == 0
    assert (second[1], second[2], second[3]) == (first[1], "0", first[2])


def test_reindex_says_once_which_file_it_skipped(settings: IndexSettings, capsys, caplog):
    (settings.articles_dir / "empty.txt").write_text("")

    assert run_bot.main(["reindex"]) == 0

    out = capsys.readouterr().out
    assert re.fullmatch(
        r"articles 1, passages \d+, embedded \d+, reused \d+, seconds \d+\.\d\d, skipped 1\n", out
    )
    said = [(r.levelname, r.getMessage()) for r in caplog.records if "empty.txt" in r.getMessage()]
    assert said == [("WARNING", "skipped empty.txt: the file is empty")]  # once, on stderr


def test_reindex_of_a_missing_articles_dir_fails_before_loading_the_model(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    def never(*_: object) -> None:
        raise AssertionError("the model was loaded (a first start exports it: seconds)")

    monkeypatch.setattr("index.startup.load_embedder", never)
    monkeypatch.setenv("ARTICLES_DIR", str(tmp_path / "missing"))

    with pytest.raises(SystemExit) as exited:
        run_bot.main(["reindex"])

    assert failure(exited, capsys).startswith("error: ARTICLES_DIR ")


def test_reindex_logs_one_line_for_a_web_page_without_an_article(
    settings: IndexSettings, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
):
    (settings.articles_dir / "app.html").write_text("<html><body><script>render()</script></body></html>")

    with caplog.at_level(logging.WARNING):
        assert run_bot.main(["reindex"]) == 0

    skipped = "skipped app.html: no paragraphs of prose found in it"
    assert capsys.readouterr().out.endswith(", skipped 1\n")
    # trafilatura's own "discarding data" warning would be a second line about the same file
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING] == [
        skipped
    ]


def test_eval_prints_the_metrics(capsys: pytest.CaptureFixture[str]):
    assert run_bot.main(["eval", str(DEV_QUESTIONS), "--verbose"]) == 0

    out = capsys.readouterr().out
    for metric in ["Recall@1", "Recall@3", "MRR@3", "off-topic abstention", "false abstention"]:
        assert re.search(rf"^{re.escape(metric)} +\d\.\d{{3}}", out, re.MULTILINE), metric
    assert re.search(r"^near-topic not high +\d\.\d{3} \(1 questions\)$", out, re.MULTILINE)
    assert re.search(r"^high precision +(\d\.\d{3}|nan) \(\d+ of \d+\)$", out, re.MULTILINE)


def test_eval_of_a_missing_file_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exited:
        run_bot.main(["eval", str(tmp_path / "nope.jsonl")])

    message = failure(exited, capsys)
    assert message.startswith("error: ")
    assert "nope.jsonl" in message


def test_eval_of_a_malformed_file_names_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    path = tmp_path / "questions.jsonl"
    path.write_text('{"question": "ok?", "answerable": false}\n{"answerable": true}\n')

    with pytest.raises(SystemExit) as exited:
        run_bot.main(["eval", str(path)])

    assert f"error: {path}:2: not an evaluation question" in failure(exited, capsys)


def test_without_a_token_the_default_is_a_terminal_chat(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    stdin(monkeypatch, f"{QUESTIONS[0]}\n{QUESTIONS[1]}\n")

    assert run_bot.main([]) == 0

    captured = capsys.readouterr()
    assert captured.err.startswith(run_bot.TERMINAL_BANNER + "\n")
    assert "Terminal mode (no DISCORD_TOKEN set)" in run_bot.TERMINAL_BANNER
    assert "[Philadelphia To Stop Giving ICE Real-Time Arrest Data · ¶3]" in captured.out
    assert "doesn't seem to cover that" in captured.out


@pytest.mark.parametrize("command", [[], ["ask"], ["reindex"], ["eval", str(DEV_QUESTIONS)]])
def test_a_missing_articles_dir_is_a_one_line_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: list[str], capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv("ARTICLES_DIR", str(tmp_path / "missing"))
    stdin(monkeypatch, "question\n")

    with pytest.raises(SystemExit) as exited:
        run_bot.main(command)

    message = failure(exited, capsys)
    assert message.startswith("error: ARTICLES_DIR ")
    assert message.endswith("missing' does not exist")
    assert "\n" not in message


@pytest.mark.parametrize("command", [[], ["ask"], ["reindex"], ["eval", str(DEV_QUESTIONS)]])
def test_a_folder_that_is_not_a_model_is_a_one_line_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: list[str], capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setattr("index.startup.load_embedder", LOAD_EMBEDDER)  # fails before loading anything
    monkeypatch.setenv("EMBEDDING_MODEL", str(tmp_path))
    stdin(monkeypatch, "question\n")

    with pytest.raises(SystemExit) as exited:
        run_bot.main(command)

    message = failure(exited, capsys)
    assert message.startswith(f"error: EMBEDDING_MODEL '{tmp_path}' is not a sentence-transformers model")
    assert "\n" not in message


@pytest.mark.parametrize("command", [["ask", "question"], ["reindex"]])
def test_an_index_dir_that_cannot_be_created_is_a_one_line_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: list[str], capsys: pytest.CaptureFixture[str]
):
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("INDEX_DIR", str(tmp_path / "a-file" / "index"))

    with pytest.raises(SystemExit) as exited:
        run_bot.main(command)

    message = failure(exited, capsys)
    assert re.fullmatch(
        r"error: [^\n]+: .*a-file.* \(check INDEX_DIR, MODEL_CACHE_DIR and ARTICLES_DIR\)", message
    )


HELP = {
    "": ["ask", "reindex", "eval", "DISCORD_TOKEN"],
    "ask": ["answer questions from the arguments or stdin", "--k", "--json"],
    "reindex": ["rebuild the index from ARTICLES_DIR"],
    "eval": ["retrieval quality: on a JSONL question set", "cross-validation folds", "--only"],
    "fit": ["fit the ranking and confidence models", "--benchmark", "--out"],
}


@pytest.mark.parametrize(("command", "says"), HELP.items(), ids=[c or "default" for c in HELP])
def test_help_on_each_command_says_what_it_does(
    command: str, says: list[str], capsys: pytest.CaptureFixture[str]
):
    with pytest.raises(SystemExit) as exited:
        run_bot.main([*command.split(), "--help"])

    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: run_bot.py {command}".rstrip() + " ")
    for words in says:
        assert words in out


@pytest.mark.parametrize("command", [[], ["ask", "question"], ["reindex"], ["eval", str(DEV_QUESTIONS)]])
@pytest.mark.parametrize("token", [None, "MTIz.secret.token-value"], ids=["no token", "token"])
def test_a_bad_log_level_is_named(
    command: list[str], token: str | None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv("LOG_LEVEL", "loud")
    if token is not None:
        monkeypatch.setenv("DISCORD_TOKEN", token)

    with pytest.raises(SystemExit) as exited:
        run_bot.main(command)

    assert failure(exited, capsys).startswith("error: LOG_LEVEL: 'loud' is not a logging level")


@pytest.mark.parametrize("command", [[], ["ask", "question"], ["reindex"], ["eval", str(DEV_QUESTIONS)]])
def test_a_bad_embedding_backend_is_named(
    command: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setattr("index.startup.load_embedder", LOAD_EMBEDDER)
    monkeypatch.setenv("EMBEDDING_BACKEND", "gpu")
    stdin(monkeypatch, "question\n")

    with pytest.raises(SystemExit) as exited:
        run_bot.main(command)

    assert failure(exited, capsys) == "error: EMBEDDING_BACKEND: 'gpu' is not one of onnx, onnx-int8, torch"


@pytest.fixture
def benchmark(tmp_path: Path) -> Path:
    """A benchmark of two cases: the shipped article, and a short invented one."""
    import shutil

    from tests.conftest import SHIPPED_ARTICLE

    root = tmp_path / "benchmark"
    shipped = root / "news" / "shipped"
    (shipped / "articles").mkdir(parents=True)
    shutil.copy(SHIPPED_ARTICLE, shipped / "articles" / SHIPPED_ARTICLE.name)
    shutil.copy(DEV_QUESTIONS, shipped / "dev.jsonl")
    other = root / "news" / "bakery"
    (other / "articles").mkdir(parents=True)
    (other / "articles" / "bakery.txt").write_text(
        "Town Bakery Wins Prize\n\n"
        "The town bakery won the regional bread prize on Monday, its owner said.\n\n"
        "The owner, Ana Ruiz, opened the bakery in 2011 with two ovens.\n\n"
        "The prize comes with a grant of 5,000 euros for new equipment.\n"
    )
    rows = [
        {"question": "who owns the bakery", "answerable": True, "evidence": ["Ana Ruiz"]},
        {"question": "what did the bakery win", "answerable": True, "evidence": ["regional bread prize"]},
        {"question": "how much money comes with the prize", "answerable": True, "evidence": ["5,000 euros"]},
        {"question": "what is the capital of peru", "answerable": False},
    ]
    (other / "blind.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return root


def test_eval_of_a_benchmark_folder_is_cross_validated_by_article(
    benchmark: Path, capsys: pytest.CaptureFixture[str]
):
    assert run_bot.main(["eval", str(benchmark), "--folds", "2"]) == 0

    out = capsys.readouterr().out
    assert out.startswith("cross-validated by article (2 folds):\n")
    for row in ("news/bakery/blind", "news/shipped/dev", "all"):
        assert re.search(rf"^{re.escape(row)} +\d+ +\d+ +\d+ +\d\.\d{{3}}", out, re.MULTILINE), row


def test_fit_writes_a_scorer_that_eval_can_use(
    benchmark: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    out = tmp_path / "scorer.json"

    assert run_bot.main(["fit", "--benchmark", str(benchmark), "--out", str(out)]) == 0
    assert f"wrote {out}: fitted on" in capsys.readouterr().out
    scorer = json.loads(out.read_text())
    assert scorer["about"]["cases"] == ["news/bakery", "news/shipped"]

    assert run_bot.main(["eval", str(benchmark), "--scorer", str(out)]) == 0
    assert capsys.readouterr().out.startswith(
        f"with the scorer {out} (fitted on: news/bakery, news/shipped):"
    )


def test_eval_of_a_folder_without_cases_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    with pytest.raises(SystemExit) as exited:
        run_bot.main(["eval", str(tmp_path)])

    assert failure(exited, capsys).startswith(f"error: no benchmark cases under {tmp_path}")


def test_eval_refuses_a_single_fold(benchmark: Path, capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exited:
        run_bot.main(["eval", str(benchmark), "--folds", "1"])

    assert exited.value.code == 2
    assert "must be at least 2" in capsys.readouterr().err


def test_an_unknown_option_is_named_with_the_commands_own_usage(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exited:
        run_bot.main(["ask", "--frob"])

    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: run_bot.py ask ")
    assert err.rstrip().endswith("run_bot.py ask: error: unrecognized arguments: --frob")


@pytest.mark.parametrize(
    ("value", "says"), [("abc", "'abc' is not a whole number"), ("0", "must be between 1 and 20")]
)
def test_a_bad_k_says_what_is_wrong(value: str, says: str, capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exited:
        run_bot.main(["ask", "--k", value, "question"])

    assert exited.value.code == 2
    assert f"argument --k: {says}" in capsys.readouterr().err


def test_piped_chat_says_which_question_each_answer_answers(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    stdin(monkeypatch, f"{QUESTIONS[0]}\n{QUESTIONS[1]}\n")

    assert run_bot.main([]) == 0

    out = capsys.readouterr().out
    assert out.index(f"Q: {QUESTIONS[0]}\n") < out.index(f"Q: {QUESTIONS[1]}\n")


def test_ask_eval_and_the_terminal_chat_record_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    database = tmp_path / "log" / "bot.sqlite3"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{database}")
    stdin(monkeypatch, f"{QUESTIONS[0]}\n")

    assert run_bot.main(["ask", QUESTIONS[0]]) == 0
    assert run_bot.main([]) == 0  # the terminal chat
    assert run_bot.main(["eval", str(DEV_QUESTIONS)]) == 0

    assert not database.parent.exists()  # no question log was opened, let alone written
