"""The article library: adds that read back the same, file names that never collide, writes that are
whole or absent, serialised writers, careful removal, and a reindex that embeds only what was added."""

from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from index import library
from index.articles import ArticleError, article_files, load_articles, read_article
from index.build import build_index, rebuild
from index.fetching import FetchedPage, FetchRefused
from index.library import (
    MAX_SLUG_CHARS,
    LibraryError,
    add_article,
    add_file,
    add_page,
    list_articles,
    remove_article,
    slug,
)
from index.settings import IndexSettings
from tests.conftest import SHIPPED_ARTICLE
from tests.fakes import FakeEmbedder
from tests.index import web_pages

URL = "https://example.org/news/harbor-bridge"
BRIDGE = (
    "Harbor Bridge To Close For Repairs\n\n"
    "The harbor bridge will close for six weeks of repairs starting in June, the transit agency said.\n\n"
    "Commuters were told to use the ferry or the tunnel while crews replace the bridge deck.\n"
)
BRIDGE_TITLE = "Harbor Bridge To Close For Repairs"


def names(directory: Path) -> list[str]:
    """Every entry of the directory, hidden ones included."""
    return sorted(os.listdir(directory))


def test_an_added_article_reads_back_with_the_same_title_captions_paragraphs_and_source(articles_dir: Path):
    original = read_article(SHIPPED_ARTICLE)  # a headline, a photo caption, 16 paragraphs, page furniture

    entry = add_article(
        articles_dir, text=SHIPPED_ARTICLE.read_text(), source_url=URL, date="2018-07-27", name_hint="x.txt"
    )

    stored = read_article(articles_dir / entry.file)
    assert (stored.title, stored.captions, stored.paragraphs) == (
        original.title,
        original.captions,
        original.paragraphs,
    )
    assert (stored.url, stored.date, stored.added) == (URL, "2018-07-27", entry.added)
    assert entry.file == "philadelphia-to-stop-giving-ice-real-time-arrest-data.txt"
    assert (entry.title, entry.source, entry.passages) == (original.title, URL, None)
    text = (articles_dir / entry.file).read_text()
    assert text.startswith(f'---\ntitle: "{original.title}"\nsource: {URL}\ndate: 2018-07-27\nadded: ')
    assert f"---\n\n{original.title}\n\n" in text  # the headline, first line after the front matter
    assert "Play Live Radio" not in text  # the page's furniture is left behind


def test_the_caption_of_a_web_page_stays_a_caption(tmp_path: Path, articles_dir: Path):
    page = tmp_path / "page.html"
    page.write_text(web_pages.NEWS_PAGE)

    entry = add_file(articles_dir, page)

    stored = read_article(articles_dir / entry.file)
    assert stored.title == web_pages.TITLE
    assert stored.captions == (web_pages.CAPTION, web_pages.LATER_CAPTION)
    assert stored.paragraphs == web_pages.PARAGRAPHS
    assert entry.file == "council-doubles-spending-on-city-parks.txt"


def test_a_title_and_front_matter_in_the_text_are_kept(articles_dir: Path):
    text = f"---\ntitle: Bridge Works Begin\nsource: {URL}\n---\n" + BRIDGE

    entry = add_article(articles_dir, text=text, name_hint="bridge.txt")

    stored = read_article(articles_dir / entry.file)
    assert (stored.title, stored.url) == ("Bridge Works Begin", URL)
    assert BRIDGE_TITLE not in stored.paragraphs  # the page's own headline line is no paragraph either
    assert len(stored.paragraphs) == 2


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        (
            "Philadelphia To Stop Giving ICE Real-Time Arrest Data",
            "philadelphia-to-stop-giving-ice-real-time-arrest-data",
        ),
        ("Café owners' “fair” rent: 3 cities", "cafe-owners-fair-rent-3-cities"),
        ("Mayor's plan", "mayors-plan"),
        ("北京 新闻", "article"),
        ("../../etc/passwd", "etc-passwd"),
        ("  --  ", "article"),
    ],
)
def test_slugs_are_ascii_lower_case_and_hyphenated(title: str, expected: str):
    assert slug(title) == expected


def test_a_long_title_s_slug_is_cut_between_words_within_the_limit():
    title = "Council approves " + " ".join(f"measure{n}" for n in range(40))

    made = slug(title)

    assert len(made) <= MAX_SLUG_CHARS
    assert title.lower().replace(" ", "-").startswith(made)
    assert not made.endswith("-")
    assert slug("x" * 200) == "x" * MAX_SLUG_CHARS


def test_a_taken_name_gets_the_next_number_and_no_file_is_overwritten(articles_dir: Path):
    (articles_dir / "harbor-bridge-to-close-for-repairs.md").write_text("a person's own file\n")
    (articles_dir / "Harbor-Bridge-To-Close-For-Repairs-2.txt").write_text("another, named in capitals\n")

    first = add_article(articles_dir, text=BRIDGE)
    second = add_article(articles_dir, text=BRIDGE)

    assert [first.id, second.id] == [
        "harbor-bridge-to-close-for-repairs-3",
        "harbor-bridge-to-close-for-repairs-4",
    ]
    assert (articles_dir / "harbor-bridge-to-close-for-repairs.md").read_text() == "a person's own file\n"


def test_a_numbered_name_stays_within_the_limit(articles_dir: Path):
    title = "Headline " + "word " * 30 + "end"

    entries = [add_article(articles_dir, text=BRIDGE, title=title) for _ in range(3)]

    assert [len(entry.id) <= MAX_SLUG_CHARS for entry in entries] == [True] * 3
    assert entries[2].id.endswith("-3")
    assert len({entry.id for entry in entries}) == 3


def test_an_article_without_prose_is_refused_and_nothing_is_written(articles_dir: Path):
    before = names(articles_dir)

    with pytest.raises(ArticleError, match=r"^menu\.txt: no paragraphs of prose found in it$"):
        add_article(articles_dir, text="Home\nNews\n0:00\nNext Up:\n", name_hint="menu.txt")
    with pytest.raises(ArticleError, match="not an http"):
        add_article(articles_dir, text=BRIDGE, source_url="file:///etc/passwd")

    assert names(articles_dir) == before


def test_a_failed_write_leaves_nothing_behind(articles_dir: Path, monkeypatch: pytest.MonkeyPatch):
    before = names(articles_dir)

    def fail_after_writing(source: str, destination: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(library.os, "replace", fail_after_writing)

    with pytest.raises(OSError, match="No space left"):
        add_article(articles_dir, text=BRIDGE)

    assert names(articles_dir) == sorted([*before, ".library.lock"])


def test_the_file_being_written_is_hidden_from_a_reindex_and_appears_whole(
    articles_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    seen: dict[str, object] = {}
    real_replace = os.replace

    def look_then_replace(source: str, destination: str) -> None:
        temporary = Path(source)
        seen["hidden"] = temporary.name.startswith(".")
        seen["in the same folder"] = temporary.parent == articles_dir
        seen["size"] = temporary.stat().st_size  # written in full before the rename
        seen["read by a reindex"] = [article.source for article in load_articles(articles_dir).articles]
        seen["destination exists"] = Path(destination).exists()
        real_replace(source, destination)

    monkeypatch.setattr(library.os, "replace", look_then_replace)

    entry = add_article(articles_dir, text=BRIDGE)

    assert seen == {
        "hidden": True,
        "in the same folder": True,
        "size": (articles_dir / entry.file).stat().st_size,
        "read by a reindex": [SHIPPED_ARTICLE.name],
        "destination exists": False,
    }
    assert names(articles_dir) == sorted([".library.lock", SHIPPED_ARTICLE.name, entry.file])


def test_a_file_left_by_an_add_that_crashed_is_removed_by_the_next(articles_dir: Path):
    leftover = articles_dir / ".harbor-bridge.txt.1a2b3c4d.adding"
    leftover.write_text("half an artic")

    add_article(articles_dir, text=BRIDGE)

    assert not leftover.exists()


def _add_bridge(articles_dir: Path) -> str:
    return add_article(articles_dir, text=BRIDGE).file


def test_two_adds_at_once_from_two_processes_both_land_under_distinct_names(
    articles_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    # Each add dawdles between choosing its name and writing: without the lock both would choose
    # the same name, and the second rename would replace the first file.
    write = library._write_atomically

    def slow_write(path: Path, data: bytes) -> None:
        time.sleep(0.3)
        write(path, data)

    monkeypatch.setattr(library, "_write_atomically", slow_write)

    with ProcessPoolExecutor(2) as pool:  # forked: the children keep the patch
        files = list(pool.map(_add_bridge, [articles_dir, articles_dir]))

    assert sorted(files) == [
        "harbor-bridge-to-close-for-repairs-2.txt",
        "harbor-bridge-to-close-for-repairs.txt",
    ]
    for name in files:
        assert read_article(articles_dir / name).title == BRIDGE_TITLE


def test_add_file_refuses_what_is_not_an_article_file(tmp_path: Path, articles_dir: Path):
    (tmp_path / "notes.pdf").write_bytes(b"%PDF-1.4")

    with pytest.raises(LibraryError, match=r"notes\.pdf: not an article file"):
        add_file(articles_dir, tmp_path / "notes.pdf")
    with pytest.raises(LibraryError, match="no such file"):
        add_file(articles_dir, tmp_path / "missing.txt")
    with pytest.raises(LibraryError, match="in ARTICLES_DIR already"):
        add_file(articles_dir, articles_dir / SHIPPED_ARTICLE.name)
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(ArticleError, match=r"empty\.txt: the file is empty"):
        add_file(articles_dir, tmp_path / "empty.txt")
    assert names(articles_dir) == [SHIPPED_ARTICLE.name]


def test_add_page_stores_a_fetched_web_page_citing_its_url(articles_dir: Path):
    page = FetchedPage(URL, URL, "text/html", "utf-8", web_pages.NEWS_PAGE.encode())
    entry = add_page(articles_dir, page)

    stored = read_article(articles_dir / entry.file)
    assert (stored.title, stored.url, stored.paragraphs) == (web_pages.TITLE, URL, web_pages.PARAGRAPHS)


def test_a_page_without_article_text_is_refused_and_nothing_is_written(articles_dir: Path):
    script = b"<html><body><script>document.write('<p>The news.</p>')</script></body></html>"
    with pytest.raises(FetchRefused, match="no article text found on the page"):
        add_page(articles_dir, FetchedPage(URL, URL, "text/html", None, script))
    assert names(articles_dir) == [SHIPPED_ARTICLE.name]


def test_the_list_shows_each_article_with_its_passages_once_indexed(
    settings: IndexSettings, articles_dir: Path
):
    os.utime(articles_dir / SHIPPED_ARTICLE.name, (1_500_000_000, 1_500_000_000))
    added = add_article(articles_dir, text=BRIDGE, source_url=URL)

    before = list_articles(articles_dir)
    data, _ = rebuild(settings, FakeEmbedder(), None)
    after = list_articles(articles_dir, data.manifest)

    assert [entry.to_json() for entry in before] == [
        {"id": added.id, "title": BRIDGE_TITLE, "passages": None, "source": URL, "added": added.added},
        {
            "id": "philadelphia-ice-arrest-data",
            "title": "Philadelphia To Stop Giving ICE Real-Time Arrest Data",
            "passages": None,
            "source": None,
            "added": "2017-07-14T02:40:00+00:00",  # no front matter: the file's last change
        },
    ]
    assert [entry.passages for entry in after] == [2, 19]


def test_the_list_of_an_empty_library_is_empty_and_of_a_missing_one_an_error(tmp_path: Path):
    assert list_articles(tmp_path) == []
    with pytest.raises(ArticleError, match="does not exist"):
        list_articles(tmp_path / "missing")


def test_remove_deletes_that_article_file_only(articles_dir: Path):
    entry = add_article(articles_dir, text=BRIDGE)

    removed = remove_article(articles_dir, entry.id)

    assert (removed.id, removed.title) == (entry.id, BRIDGE_TITLE)
    assert [path.name for path in article_files(articles_dir)] == [SHIPPED_ARTICLE.name]


@pytest.mark.parametrize(
    ("article_id", "problem"),
    [
        ("../articles/philadelphia-ice-arrest-data", "is not an article id"),
        ("/etc/passwd", "is not an article id"),
        (".hidden", "is not an article id"),
        ("philadelphia-ice-arrest-data.txt", "no article 'philadelphia-ice-arrest-data.txt'"),
        ("", "is not an article id"),
        ("a\\b", "is not an article id"),
        ("line\nbreak", "is not an article id"),
        ("missing", "no article 'missing' in ARTICLES_DIR"),
        ("Philadelphia-ice-arrest-data", "no article"),  # ids match exactly
    ],
)
def test_remove_refuses_an_id_that_names_no_article(articles_dir: Path, article_id: str, problem: str):
    (articles_dir / ".hidden.txt").write_text(BRIDGE)
    (articles_dir / "second.txt").write_text(BRIDGE)
    before = names(articles_dir)

    with pytest.raises(LibraryError, match=problem):
        remove_article(articles_dir, article_id)

    assert [name for name in names(articles_dir) if name != ".library.lock"] == before


def test_remove_refuses_the_last_article_and_an_ambiguous_id(articles_dir: Path):
    with pytest.raises(LibraryError, match="is the only usable article"):
        remove_article(articles_dir, "philadelphia-ice-arrest-data")
    (articles_dir / "philadelphia-ice-arrest-data.md").write_text(BRIDGE)
    with pytest.raises(LibraryError, match=r"is the id of philadelphia-ice-arrest-data\.md, .*\.txt"):
        remove_article(articles_dir, "philadelphia-ice-arrest-data")
    assert len(article_files(articles_dir)) == 2


def test_a_reindex_after_an_add_embeds_only_the_new_article(settings: IndexSettings, articles_dir: Path):
    before, _ = rebuild(settings, FakeEmbedder(), None)
    entry = add_article(articles_dir, text=BRIDGE)
    alone = FakeEmbedder()  # what the new article costs on its own
    (settings.index_dir.parent / "alone").mkdir()
    (settings.index_dir.parent / "alone" / entry.file).write_bytes((articles_dir / entry.file).read_bytes())
    build_index(load_articles(settings.index_dir.parent / "alone"), alone)

    embedder = FakeEmbedder()
    after, stats = rebuild(settings, embedder, before)

    assert stats.embedded == alone.embedded == embedder.embedded
    assert stats.reused == len(before.units)  # every unit of the shipped article, none embedded again
    assert stats.articles == 2
    assert all(text in BRIDGE for batch in embedder.batches for text in batch)
    assert len(after.units) == len(before.units) + alone.embedded


def test_remove_refuses_the_last_usable_article_whatever_else_is_in_the_folder(articles_dir: Path):
    (articles_dir / "junk.txt").write_text("   \n")  # an article file, but not a usable one
    with pytest.raises(LibraryError, match="is the only usable article"):
        remove_article(articles_dir, SHIPPED_ARTICLE.stem)
    assert (articles_dir / SHIPPED_ARTICLE.name).exists()


@pytest.mark.parametrize("name", ["news (1).txt", "ap.2018.txt", "O'Neil.md"])
def test_a_file_dropped_in_by_hand_with_an_unusual_name_can_be_removed(articles_dir: Path, name: str):
    (articles_dir / name).write_text((articles_dir / SHIPPED_ARTICLE.name).read_text())
    entry = remove_article(articles_dir, Path(name).stem)
    assert entry.file == name
    assert [path.name for path in article_files(articles_dir)] == [SHIPPED_ARTICLE.name]
