"""The two libraries behind one interface: the database's behaves as ARTICLES_DIR's on the same
operations (ids, listings, refusals and their sentences, files for a build), is seeded from
ARTICLES_DIR once, and is one library for every process that opens it."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, delete, text

from database.engine import NewerSchemaError, migrate, open_database
from index.articles import ArticleError, load_articles, read_article
from index.build import rebuild
from index.database_library import DatabaseLibrary
from index.fetching import FetchedPage, FetchRefused
from index.libraries import FolderLibrary, Library, library_folder, library_settings, open_library
from index.library import LibraryError
from index.library_tables import articles
from index.settings import IndexSettings
from tests.conftest import SHIPPED_ARTICLE
from tests.fakes import FakeEmbedder
from tests.index import web_pages
from tests.index.test_library import BRIDGE, BRIDGE_TITLE, URL

SHIPPED_ID = SHIPPED_ARTICLE.stem
PAGE_ID = "council-doubles-spending-on-city-parks"


@pytest.fixture(params=["folder", pytest.param("database", marks=pytest.mark.postgres)])
def library(request: pytest.FixtureRequest, articles_dir: Path) -> Library:
    """The library of the shipped article: ARTICLES_DIR, then the database seeded from it."""
    if request.param == "folder":
        return FolderLibrary(articles_dir)
    return request.getfixturevalue("database_library")


@pytest.fixture
def downloads(tmp_path: Path) -> Path:
    """A folder of article files to add: the news page, and the bridge story as text."""
    folder = tmp_path / "downloads"
    folder.mkdir()
    (folder / "parks.html").write_text(web_pages.NEWS_PAGE)
    (folder / "bridge.txt").write_text(BRIDGE)
    return folder


def test_an_added_file_is_listed_by_its_id_title_and_file(library: Library, downloads: Path):
    entry = library.add_file(downloads / "parks.html")

    assert (entry.id, entry.title, entry.file, entry.passages) == (
        PAGE_ID,
        web_pages.TITLE,
        f"{PAGE_ID}.txt",
        None,
    )
    assert [listed.id for listed in library.list()] == [PAGE_ID, SHIPPED_ID]
    assert library.list()[0] == entry


def test_a_page_is_stored_citing_its_url(library: Library):
    page = FetchedPage(URL, URL, "text/html", "utf-8", web_pages.NEWS_PAGE.encode())

    entry = library.add_page(page)

    assert (entry.id, entry.source) == (PAGE_ID, URL)
    assert {listed.id: listed.source for listed in library.list()}[PAGE_ID] == URL


def test_the_same_title_twice_gets_the_next_number(library: Library, downloads: Path):
    first = library.add_file(downloads / "bridge.txt")
    second = library.add_file(downloads / "bridge.txt")

    assert [first.id, second.id] == [
        "harbor-bridge-to-close-for-repairs",
        "harbor-bridge-to-close-for-repairs-2",
    ]
    assert first.title == second.title == BRIDGE_TITLE


def test_remove_takes_that_article_only(library: Library, downloads: Path):
    entry = library.add_file(downloads / "bridge.txt")

    removed = library.remove(entry.id)

    assert (removed.id, removed.title, removed.file) == (entry.id, BRIDGE_TITLE, entry.file)
    assert [listed.id for listed in library.list()] == [SHIPPED_ID]


@pytest.mark.parametrize(
    ("article_id", "problem"),
    [
        ("../articles/x", r"^'\.\./articles/x' is not an article id \(a file name without its suffix"),
        (".hidden", r"^'\.hidden' is not an article id"),
        (
            "missing",
            r"^no article 'missing' in (ARTICLES_DIR|the library); the list of articles shows the ids$",
        ),
        ("Philadelphia-ice-arrest-data", "^no article"),  # ids match exactly
        (SHIPPED_ID, rf"^'{SHIPPED_ID}' is the only usable article; add another before removing it$"),
    ],
)
def test_remove_refuses_in_the_same_words(library: Library, article_id: str, problem: str):
    before = library.list()

    with pytest.raises(LibraryError, match=problem):
        library.remove(article_id)

    assert library.list() == before


def test_adds_are_refused_in_the_same_words(library: Library, tmp_path: Path):
    (tmp_path / "notes.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / "empty.txt").write_text("")
    script = b"<html><body><script>document.write('<p>The news.</p>')</script></body></html>"
    before = library.list()

    with pytest.raises(
        LibraryError, match=r"^notes\.pdf: not an article file \(\.txt, \.md, \.html, \.htm\)$"
    ):
        library.add_file(tmp_path / "notes.pdf")
    with pytest.raises(LibraryError, match=r"missing\.txt: no such file$"):
        library.add_file(tmp_path / "missing.txt")
    with pytest.raises(ArticleError, match=r"^empty\.txt: the file is empty$"):
        library.add_file(tmp_path / "empty.txt")
    with pytest.raises(FetchRefused, match="no article text found on the page"):
        library.add_page(FetchedPage(URL, URL, "text/html", None, script))

    assert library.list() == before


def test_the_revision_changes_with_every_change_and_only_then(library: Library, downloads: Path):
    start = library.revision()
    assert library.revision() == start

    entry = library.add_file(downloads / "bridge.txt")
    added = library.revision()
    with pytest.raises(LibraryError):
        library.remove("missing")
    refused = library.revision()
    library.remove(entry.id)

    assert added != start
    assert refused == added
    assert library.revision() != added  # (the folder's may be `start` again: the same files)


def test_a_build_reads_the_same_articles_from_either_library(
    library: Library, downloads: Path, settings: IndexSettings
):
    library.add_file(downloads / "parks.html")

    build = library_settings(settings, library)
    data, stats = rebuild(build, FakeEmbedder(), None)

    read = {article.source: article for article in load_articles(build.articles_dir).articles}
    assert sorted(read) == [f"{PAGE_ID}.txt", SHIPPED_ARTICLE.name]
    assert read[f"{PAGE_ID}.txt"].paragraphs == web_pages.PARAGRAPHS
    assert read[SHIPPED_ARTICLE.name].paragraphs == read_article(SHIPPED_ARTICLE).paragraphs
    assert stats.articles == 2
    assert [entry.passages for entry in library.list(data.manifest)] == [6, 19]


def test_the_folder_library_builds_from_articles_dir_itself(settings: IndexSettings):
    library = FolderLibrary(settings.articles_dir)

    assert library.materialize(library_folder(settings)) == settings.articles_dir
    assert library_settings(settings, library) is settings
    assert not library_folder(settings).exists()


@pytest.mark.postgres
def test_the_database_library_lists_what_the_folder_did(
    articles_dir: Path, database_library: DatabaseLibrary, downloads: Path
):
    os.utime(articles_dir / SHIPPED_ARTICLE.name, (1_500_000_000, 1_500_000_000))
    folder = FolderLibrary(articles_dir)
    # seeded before the utime: the database keeps the time the file had then
    seeded_added = database_library.list()[0].added

    assert [entry.to_json() for entry in database_library.list()] == [
        {**entry.to_json(), "added": seeded_added} for entry in folder.list()
    ]
    folder.add_file(downloads / "bridge.txt")
    database_library.add_file(downloads / "bridge.txt")
    assert [(e.id, e.title, e.source, e.file) for e in database_library.list()] == [
        (e.id, e.title, e.source, e.file) for e in folder.list()
    ]


# --- seeding


@pytest.mark.postgres
def test_seeding_imports_articles_dir_once_under_the_files_own_ids(
    library_engine: Engine, articles_dir: Path
):
    os.utime(articles_dir / SHIPPED_ARTICLE.name, (1_500_000_000, 1_500_000_000))
    (articles_dir / "Bridge Notes.md").write_text(BRIDGE)
    (articles_dir / "broken.txt").write_bytes(b"\x00\x01binary")
    library = DatabaseLibrary(library_engine)

    imported = library.seed(articles_dir)
    again = library.seed(articles_dir)

    assert (imported, again) == (2, 0)
    listed = library.list()
    assert [(entry.id, entry.title) for entry in listed] == [
        ("Bridge Notes", BRIDGE_TITLE),
        (SHIPPED_ID, read_article(SHIPPED_ARTICLE).title),
    ]
    assert listed[1].added == "2017-07-14T02:40:00+00:00"  # the file's last change, as the folder lists it


@pytest.mark.postgres
def test_a_library_emptied_after_seeding_is_not_seeded_again(library_engine: Engine, articles_dir: Path):
    library = DatabaseLibrary(library_engine)
    library.seed(articles_dir)
    with library_engine.begin() as connection:  # the last article can't be removed: empty it by hand
        connection.execute(delete(articles))

    assert library.seed(articles_dir) == 0
    assert library.list() == []


@pytest.mark.postgres
def test_two_processes_seeding_at_once_seed_once(library_engine: Engine, articles_dir: Path):
    libraries = [DatabaseLibrary(create_engine(library_engine.url)) for _ in range(4)]
    counts: list[int] = []
    threads = [
        threading.Thread(target=lambda lib=lib: counts.append(lib.seed(articles_dir))) for lib in libraries
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(counts) == [0, 0, 0, 1]
    assert [entry.id for entry in libraries[0].list()] == [SHIPPED_ID]
    for library in libraries:
        library.engine.dispose()


# --- one library for every process


@pytest.mark.postgres
def test_two_library_objects_on_one_database_see_each_others_changes(
    library_engine: Engine, articles_dir: Path, downloads: Path
):
    one = DatabaseLibrary(library_engine)
    one.seed(articles_dir)
    other = DatabaseLibrary(create_engine(library_engine.url))

    added = one.add_file(downloads / "bridge.txt")
    assert [entry.id for entry in other.list()] == [added.id, SHIPPED_ID]
    assert other.revision() == one.revision()

    other.remove(added.id)
    assert [entry.id for entry in one.list()] == [SHIPPED_ID]
    assert one.revision() == other.revision()
    other.engine.dispose()


@pytest.mark.postgres
def test_adds_at_once_from_two_engines_get_distinct_ids(database_library: DatabaseLibrary, downloads: Path):
    libraries = [database_library, DatabaseLibrary(create_engine(database_library.engine.url))]
    ids: list[str] = []
    barrier = threading.Barrier(len(libraries) * 3)

    def add(library: DatabaseLibrary) -> None:
        barrier.wait()
        ids.append(library.add_file(downloads / "bridge.txt").id)

    threads = [threading.Thread(target=add, args=(library,)) for library in libraries * 3]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    stem = "harbor-bridge-to-close-for-repairs"
    assert sorted(ids) == sorted([stem, *(f"{stem}-{n}" for n in range(2, 7))])
    assert database_library.revision() == 1 + 6  # the seeding, then one per add
    libraries[1].engine.dispose()


# --- files for a build


@pytest.mark.postgres
def test_materialize_swaps_in_a_new_copy_and_fetches_only_what_changed(
    database_library: DatabaseLibrary, downloads: Path, tmp_path: Path
):
    folder = tmp_path / "copy"
    database_library.materialize(folder)
    first = folder.resolve()
    shipped_inode = (folder / SHIPPED_ARTICLE.name).stat().st_ino
    assert database_library.materialize(folder) == folder
    assert folder.resolve() == first

    added = database_library.add_file(downloads / "bridge.txt")
    database_library.materialize(folder)

    assert folder.is_symlink()
    assert folder.resolve() != first
    assert not first.exists()  # the previous copy is gone
    assert sorted(os.listdir(folder)) == sorted([".revision", SHIPPED_ARTICLE.name, added.file])
    assert (folder / SHIPPED_ARTICLE.name).stat().st_ino == shipped_inode  # linked, not fetched
    assert (folder / added.file).read_text().startswith(f'---\ntitle: "{BRIDGE_TITLE}"\n')
    assert read_article(folder / added.file).title == BRIDGE_TITLE
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        ["articles", "copy", folder.resolve().name, "downloads"]
    )


@pytest.mark.postgres
def test_a_copy_missing_a_file_is_written_whole_again(database_library: DatabaseLibrary, tmp_path: Path):
    folder = tmp_path / "copy"
    database_library.materialize(folder)
    (folder / SHIPPED_ARTICLE.name).unlink()
    with database_library.engine.begin() as connection:  # a change, so the copy is not current
        connection.execute(text("UPDATE library SET revision = revision + 1"))

    database_library.materialize(folder)

    assert read_article(folder / SHIPPED_ARTICLE.name).title == read_article(SHIPPED_ARTICLE).title


@pytest.mark.postgres
def test_materialize_refuses_a_real_folder_in_its_place(database_library: DatabaseLibrary, tmp_path: Path):
    (tmp_path / "copy").mkdir()
    (tmp_path / "copy" / "mine.txt").write_text("someone's file")

    with pytest.raises(LibraryError, match="is a folder, not a copy of the library; move it away"):
        database_library.materialize(tmp_path / "copy")
    assert (tmp_path / "copy" / "mine.txt").read_text() == "someone's file"


# --- opening


def test_open_library_without_postgresql_is_articles_dir(settings: IndexSettings, tmp_path: Path):
    sqlite = settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'bot.sqlite3'}"})

    assert open_library(sqlite) == FolderLibrary(settings.articles_dir)
    assert open_library(settings) == FolderLibrary(settings.articles_dir)  # the default DATABASE_URL


@pytest.mark.postgres
def test_open_library_with_postgresql_is_the_database_seeded_once(
    settings: IndexSettings, postgres_url: str, downloads: Path
):
    shared = settings.model_copy(update={"database_url": postgres_url})

    first = open_library(shared)
    first.add_file(downloads / "bridge.txt")
    second = open_library(shared)

    assert isinstance(first, DatabaseLibrary)
    assert isinstance(second, DatabaseLibrary)
    assert [entry.id for entry in second.list()] == ["harbor-bridge-to-close-for-repairs", SHIPPED_ID]
    first.engine.dispose()
    second.engine.dispose()


@pytest.mark.postgres
def test_open_library_refuses_a_database_from_a_newer_bot(settings: IndexSettings, postgres_url: str):
    engine = open_database(postgres_url)
    migrate(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    engine.dispose()

    with pytest.raises(NewerSchemaError, match=r"^the database at .* was made by a newer version of the bot"):
        open_library(settings.model_copy(update={"database_url": postgres_url}))
