"""`run_bot.py articles …`, `reindex` and `ask` with a PostgreSQL DATABASE_URL: the articles live in
the database (ARTICLES_DIR seeds it once and is never written), with the same output and exit codes
as with the folder library."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine

import run_bot
from index.build import index_store
from index.database_library import DatabaseLibrary
from index.settings import IndexSettings
from tests.conftest import SHIPPED_ARTICLE
from tests.databases import free_port
from tests.index import web_pages
from tests.index.test_cli_articles import PAGE_ID, SHIPPED_ID, failure, listed

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def shared(
    cli_environment: None, monkeypatch: pytest.MonkeyPatch, postgres_url: str
) -> Iterator[DatabaseLibrary]:
    """The command line's environment with DATABASE_URL a fresh PostgreSQL database; the library in
    it, as another process sees it."""
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    library = DatabaseLibrary(create_engine(postgres_url))
    yield library
    library.engine.dispose()


def folder_names(settings: IndexSettings) -> list[str]:
    return sorted(path.name for path in settings.articles_dir.iterdir())


def test_add_stores_the_article_in_the_database_not_in_articles_dir(
    settings: IndexSettings, page: Path, shared: DatabaseLibrary, capsys: pytest.CaptureFixture[str]
):
    before = folder_names(settings)

    assert run_bot.main(["articles", "add", str(page)]) == 0

    out = capsys.readouterr().out
    assert re.fullmatch(rf"added {PAGE_ID}: {web_pages.TITLE}; passages 6, seconds \d+\.\d\d\n", out)
    assert [entry.id for entry in shared.list()] == [PAGE_ID, SHIPPED_ID]  # seeded, then added
    assert folder_names(settings) == before
    served = index_store(settings).load()
    assert [entry["source"] for entry in served.manifest.articles] == [f"{PAGE_ID}.txt", SHIPPED_ARTICLE.name]


def test_list_and_remove_read_and_change_the_database(
    settings: IndexSettings, page: Path, shared: DatabaseLibrary, capsys: pytest.CaptureFixture[str]
):
    run_bot.main(["articles", "add", str(page)])

    rows = listed(capsys)
    assert [(row["id"], row["passages"]) for row in rows] == [(PAGE_ID, 6), (SHIPPED_ID, 19)]

    assert run_bot.main(["articles", "remove", PAGE_ID]) == 0
    assert capsys.readouterr().out == f"removed {PAGE_ID}: {web_pages.TITLE}; articles 1, passages 19\n"
    assert [entry.id for entry in shared.list()] == [SHIPPED_ID]


def test_an_article_added_by_another_process_is_listed_and_indexed_by_reindex(
    settings: IndexSettings, page: Path, shared: DatabaseLibrary, capsys: pytest.CaptureFixture[str]
):
    assert [row["id"] for row in listed(capsys)] == [SHIPPED_ID]  # seeds the library
    shared.add_file(page)

    assert listed(capsys)[0] == {**listed(capsys)[0], "id": PAGE_ID, "passages": None}
    assert run_bot.main(["reindex"]) == 0
    assert capsys.readouterr().out.startswith("articles 2, passages 25, embedded ")
    assert [row["passages"] for row in listed(capsys)] == [6, 19]


def test_ask_answers_from_the_database_s_articles(
    page: Path, shared: DatabaseLibrary, capsys: pytest.CaptureFixture[str]
):
    listed(capsys)
    shared.add_file(page)
    capsys.readouterr()

    assert run_bot.main(["ask", "--json", "How much will the council spend on parks?"]) == 0

    answer = json.loads(capsys.readouterr().out)
    assert answer["passages"][0]["article"] == web_pages.TITLE


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["articles", "remove", "../articles/x"], "error: '../articles/x' is not an article id"),
        (["articles", "remove", "nope"], "error: no article 'nope' in the library; the list of articles"),
        (["articles", "remove", SHIPPED_ID], f"error: '{SHIPPED_ID}' is the only usable article"),
        (["articles", "add", "missing.txt"], "error: missing.txt: no such file"),
    ],
)
def test_every_refusal_is_one_error_line_and_exit_2(
    argv: list[str], line: str, shared: DatabaseLibrary, capsys: pytest.CaptureFixture[str]
):
    assert failure(argv, capsys).startswith(line)
    assert [entry.id for entry in shared.list()] == [SHIPPED_ID]


def test_an_empty_library_is_one_error_line(shared: DatabaseLibrary, capsys: pytest.CaptureFixture[str]):
    listed(capsys)
    with shared.engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM articles")

    assert failure(["reindex"], capsys) == (
        "error: the article library has no articles; add one (`run_bot.py articles add`)"
    )
    assert run_bot.main(["articles", "list"]) == 0
    assert capsys.readouterr().out == "no articles in the database's library\n"


def test_an_unreachable_database_is_one_error_line_without_its_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv(
        "DATABASE_URL", f"postgresql+psycopg://bot:hunter2hunter2@127.0.0.1:{free_port()}/news"
    )

    for argv in (["articles", "list"], ["reindex"], ["ask", "anything"]):
        line = failure(argv, capsys)
        assert line.startswith("error: could not open the article library at postgresql+psycopg://bot:***@")
        assert "hunter2" not in line
