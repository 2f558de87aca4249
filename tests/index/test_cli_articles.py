"""`run_bot.py articles add|list|remove`, in-process with the fake embedder: exit codes, what each
prints, and the index following the library."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import run_bot
from index.build import index_store
from index.settings import IndexSettings
from tests.conftest import SHIPPED_ARTICLE
from tests.index import web_pages

SHIPPED_ID = SHIPPED_ARTICLE.stem
PAGE_ID = "council-doubles-spending-on-city-parks"


pytestmark = pytest.mark.usefixtures("cli_environment")


def failure(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The one line a refused command prints on stderr (it exits 2, stdout empty)."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        run_bot.main(argv)
    assert exited.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def listed(capsys: pytest.CaptureFixture[str]) -> list[dict]:
    capsys.readouterr()
    assert run_bot.main(["articles", "list", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_add_stores_the_file_rebuilds_the_index_and_says_what_it_added(
    settings: IndexSettings, page: Path, capsys: pytest.CaptureFixture[str]
):
    assert run_bot.main(["articles", "add", str(page)]) == 0

    out = capsys.readouterr().out
    assert re.fullmatch(rf"added {PAGE_ID}: {web_pages.TITLE}; passages 6, seconds \d+\.\d\d\n", out)
    served = index_store(settings).load()
    assert [entry["source"] for entry in served.manifest.articles] == [f"{PAGE_ID}.txt", SHIPPED_ARTICLE.name]
    assert web_pages.PARAGRAPHS[0] in {passage.text for passage in served.passages}


def test_list_json_is_exactly_an_array_of_id_title_passages_source_added(
    settings: IndexSettings, page: Path, capsys: pytest.CaptureFixture[str]
):
    assert listed(capsys)[0]["passages"] is None  # not indexed yet
    run_bot.main(["articles", "add", str(page)])

    rows = listed(capsys)

    assert [list(row) for row in rows] == [["id", "title", "passages", "source", "added"]] * 2
    assert [(row["id"], row["title"], row["passages"], row["source"]) for row in rows] == [
        (PAGE_ID, web_pages.TITLE, 6, None),
        (SHIPPED_ID, "Philadelphia To Stop Giving ICE Real-Time Arrest Data", 19, None),
    ]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", rows[0]["added"])


def test_list_as_text_names_each_article(page: Path, capsys: pytest.CaptureFixture[str]):
    run_bot.main(["articles", "add", str(page)])
    capsys.readouterr()

    assert run_bot.main(["articles", "list"]) == 0

    out = capsys.readouterr().out
    assert out.splitlines()[:3] == [PAGE_ID, f"  {web_pages.TITLE}", out.splitlines()[2]]
    assert out.splitlines()[2].startswith("  6 passages, added ")
    assert out.splitlines()[2].endswith(", no source")


def test_remove_deletes_the_article_and_rebuilds(
    settings: IndexSettings, page: Path, capsys: pytest.CaptureFixture[str]
):
    run_bot.main(["articles", "add", str(page)])
    capsys.readouterr()

    assert run_bot.main(["articles", "remove", PAGE_ID]) == 0

    assert capsys.readouterr().out == f"removed {PAGE_ID}: {web_pages.TITLE}; articles 1, passages 19\n"
    assert [row["id"] for row in listed(capsys)] == [SHIPPED_ID]
    assert [e["source"] for e in index_store(settings).load().manifest.articles] == [SHIPPED_ARTICLE.name]


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["articles", "remove", "../articles/x"], "error: '../articles/x' is not an article id"),
        (["articles", "remove", ".hidden"], "error: '.hidden' is not an article id"),
        (["articles", "remove", "nope"], "error: no article 'nope' in ARTICLES_DIR"),
        (["articles", "remove", SHIPPED_ID], f"error: '{SHIPPED_ID}' is the only usable article"),
        (["articles", "add", "missing.txt"], "error: missing.txt: no such file"),
        (["articles", "add", "README"], "error: README: no such file"),
    ],
)
def test_every_refusal_is_one_error_line_and_exit_2(
    settings: IndexSettings, argv: list[str], line: str, capsys: pytest.CaptureFixture[str]
):
    before = sorted(path.name for path in settings.articles_dir.iterdir())

    assert failure(argv, capsys).startswith(line)

    assert (
        sorted(path.name for path in settings.articles_dir.iterdir() if path.name != ".library.lock")
        == before
    )


def test_adding_a_page_without_prose_is_refused_and_leaves_nothing(
    settings: IndexSettings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    empty = tmp_path / "empty.html"
    empty.write_text(web_pages.EMPTY_PAGE)

    assert (
        failure(["articles", "add", str(empty)], capsys)
        == "error: empty.html: no paragraphs of prose found in it"
    )
    assert [row["id"] for row in listed(capsys)] == [SHIPPED_ID]


def test_a_missing_articles_dir_is_one_error_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, page: Path, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv("ARTICLES_DIR", str(tmp_path / "nowhere"))

    for argv in (["articles", "list"], ["articles", "add", str(page)], ["articles", "remove", "x"]):
        assert "nowhere' does not exist" in failure(argv, capsys)


def test_articles_without_an_action_shows_its_usage(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exited:
        run_bot.main(["articles"])

    assert exited.value.code == 2
    assert "usage: run_bot.py articles" in capsys.readouterr().err


@pytest.fixture
def news_site() -> Iterator[tuple[str, list[str]]]:
    """A web server on 127.0.0.1 (in a thread: the command runs its own event loop) serving the news
    page at /parks; the paths it was asked for."""
    asked: list[str] = []

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            body = web_pages.NEWS_PAGE.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/parks", asked
    finally:
        server.shutdown()
        server.server_close()


def test_adding_by_url_fetches_the_page_and_cites_it(
    news_site: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    url, asked = news_site
    monkeypatch.setenv("ALLOW_PRIVATE_URLS", "true")  # the test's server is on this machine

    assert run_bot.main(["articles", "add", url]) == 0

    assert asked == ["/parks"]
    [added] = [entry for entry in listed(capsys) if entry["id"] == PAGE_ID]
    assert (added["title"], added["source"]) == (web_pages.TITLE, url)


def test_adding_a_url_on_this_machine_is_refused_without_allow_private_urls(
    news_site: tuple[str, list[str]], capsys: pytest.CaptureFixture[str]
):
    url, asked = news_site

    line = failure(["articles", "add", url], capsys)

    assert line.startswith("error: ")
    assert "127.0.0.1" in line
    assert asked == []  # refused before connecting
    assert [entry["id"] for entry in listed(capsys)] == [SHIPPED_ID]
