"""Reading ARTICLES_DIR: the shipped article's passages, and clear messages for bad input."""

from __future__ import annotations

import codecs
import hashlib
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from index import articles as articles_module
from index.articles import ArticleError, article_passages, load_articles, read_article
from tests.conftest import REPO, SHIPPED_ARTICLE
from tests.fakes import FakeEmbedder
from tests.index import web_pages

TITLE = "Philadelphia To Stop Giving ICE Real-Time Arrest Data"
FURNITURE = [
    "0:00",
    "Play Live Radio",
    "Next Up:",
    "Available On Air Stations",
    "Contact 90.5 WESA with a story idea or news tip: news@wesa.fm",
    "RIchard Drew",
    "/",
    "AP",
]
PROSE = "The council approved the budget on Tuesday after a long debate about parks and libraries.\n"


# sha256 of the team's copy of the article (shared/articles/), recorded so that a clone without
# that folder checks it too
SHARED_ARTICLE_SHA256 = "c82d35fc843b274329e54cc5af22b1255723a894d0726137296c81ddeca41ccc"


def test_the_shipped_article_is_byte_identical_to_the_shared_copy():
    assert hashlib.sha256(SHIPPED_ARTICLE.read_bytes()).hexdigest() == SHARED_ARTICLE_SHA256
    shared = REPO.parent / "shared" / "articles" / SHIPPED_ARTICLE.name
    if shared.exists():  # and, where the team's folder is at hand, the bytes themselves
        assert SHIPPED_ARTICLE.read_bytes() == shared.read_bytes()


def test_the_shipped_article_is_cleaned_to_title_caption_and_16_paragraphs():
    article = read_article(SHIPPED_ARTICLE)

    assert article.title == TITLE
    assert len(article.captions) == 1
    assert article.captions[0].startswith("In this March 3, 2015 photo, Immigration and Customs Enforcement")
    assert len(article.paragraphs) == 16
    assert article.paragraphs[0].startswith("Philadelphia will stop giving")
    assert "expires Aug. 31" in article.paragraphs[2]
    assert article.paragraphs[-1].startswith("Juntos, an immigrant advocacy group")
    # the news agency's self-description, after the page's spacer line, is the page's footer
    assert not any("Associated Press" in paragraph for paragraph in article.paragraphs)


def test_the_shipped_article_passages_hold_no_page_furniture_and_know_where_they_come_from():
    embedder = FakeEmbedder()
    article = read_article(SHIPPED_ARTICLE)

    passages = article_passages(article, embedder.max_tokens, embedder.count_tokens)

    texts = [passage.text for passage in passages]
    for furniture in FURNITURE:
        assert furniture not in texts
    assert not any(text.startswith(("Contact 90.5 WESA", "0:00")) for text in texts)
    assert {passage.article for passage in passages} == {TITLE}
    assert {passage.source for passage in passages} == {SHIPPED_ARTICLE.name}
    captions = [passage for passage in passages if passage.kind == "caption"]
    assert [caption.paragraph for caption in captions] == [0]
    assert "Bronx" in captions[0].text
    body_numbers = [passage.paragraph for passage in passages if passage.kind == "body"]
    assert sorted(set(body_numbers)) == list(range(1, 17))
    third = [passage.text for passage in passages if passage.paragraph == 3]
    assert any("expires Aug. 31" in text for text in third)


def test_a_paragraph_longer_than_the_window_becomes_parts_of_one_paragraph():
    embedder = FakeEmbedder(max_tokens=12)
    article = read_article(SHIPPED_ARTICLE)

    passages = article_passages(article, embedder.max_tokens, embedder.count_tokens)

    first = [passage for passage in passages if passage.kind == "body" and passage.paragraph == 1]
    assert len(first) > 1
    assert [passage.part for passage in first] == list(range(len(first)))
    assert " ".join(passage.text for passage in first).split() == article.paragraphs[0].split()


def test_the_citation_names_the_article_and_the_paragraph():
    embedder = FakeEmbedder()
    passages = article_passages(read_article(SHIPPED_ARTICLE), embedder.max_tokens, embedder.count_tokens)

    citations = {passage.citation for passage in passages}

    assert f"{TITLE} · photo caption" in citations
    assert f"{TITLE} · ¶3" in citations


def test_a_markdown_file_without_a_headline_is_titled_after_its_name(tmp_path: Path):
    path = tmp_path / "city_budget-vote.md"
    path.write_text(PROSE)

    assert read_article(path).title == "City budget vote"


@pytest.mark.parametrize("name", ["park-budget.html", "park-budget.HTM", "park-budget.txt"])
def test_a_saved_web_page_is_an_article_and_its_figure_caption_is_never_paragraph_1(
    tmp_path: Path, name: str
):
    (tmp_path / name).write_text(web_pages.NEWS_PAGE)  # .txt: the page's HTML pasted into a text file
    embedder = FakeEmbedder()

    loaded = load_articles(tmp_path)

    [article] = loaded.articles
    assert loaded.warnings == ()
    assert article.title == web_pages.TITLE
    passages = article_passages(article, embedder.max_tokens, embedder.count_tokens)
    numbered = [(passage.kind, passage.paragraph, passage.text) for passage in passages]
    assert numbered == [
        ("caption", 0, web_pages.CAPTION),
        ("caption", 0, web_pages.LATER_CAPTION),
        *(("body", number, text) for number, text in enumerate(web_pages.PARAGRAPHS, start=1)),
    ]


def test_text_articles_are_read_without_importing_the_html_extractor():
    # trafilatura and lxml take ~0.15 s to import: a start with only .txt/.md articles never pays it
    program = (
        "import sys\nfrom pathlib import Path\nfrom index.articles import load_articles\n"
        f"load_articles(Path({str(SHIPPED_ARTICLE.parent)!r}))\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] in ('trafilatura', 'lxml')))\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", program], cwd=REPO, capture_output=True, text=True, timeout=60, check=True
    )

    assert result.stdout.strip() == "[]"


# --- Bad input ---------------------------------------------------------------------------------


def test_a_missing_directory_is_named(tmp_path: Path):
    with pytest.raises(ArticleError, match=r"'.*nowhere' does not exist"):
        load_articles(tmp_path / "nowhere")


def test_a_file_instead_of_a_directory_is_named(tmp_path: Path):
    path = tmp_path / "article.txt"
    path.write_text(PROSE)

    with pytest.raises(ArticleError, match="is not a directory"):
        load_articles(path)


def test_an_empty_directory_or_one_without_article_files_says_what_to_put_there(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    with pytest.raises(ArticleError, match=r"no article files \(\.txt, \.md\b.*\); put one there"):
        load_articles(tmp_path)

    (tmp_path / "notes.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / ".hidden.txt").write_text(PROSE)
    with (
        caplog.at_level(logging.WARNING, logger="index.articles"),
        pytest.raises(ArticleError, match=r"no article files \(\.txt, \.md\b.*\); put one there"),
    ):
        load_articles(tmp_path)

    assert [record.getMessage() for record in caplog.records] == [
        "skipped notes.pdf: not an article file (.txt, .md, .html, .htm)"
    ]


def test_every_other_file_in_the_folder_is_named_with_why_it_was_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    (tmp_path / "story.txt").write_text(PROSE)
    (tmp_path / "notes.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / "draft.docx").write_bytes(b"PK\x03\x04")
    (tmp_path / "README").write_text(PROSE)
    # hidden files and folders are not the user's articles: passed over without a word
    (tmp_path / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (tmp_path / "images").mkdir()

    with caplog.at_level(logging.WARNING, logger="index.articles"):
        loaded = load_articles(tmp_path)

    assert [article.source for article in loaded.articles] == ["story.txt"]
    expected = [
        f"skipped {name}: not an article file (.txt, .md, .html, .htm)"
        for name in ("README", "draft.docx", "notes.pdf")
    ]
    assert list(loaded.warnings) == expected
    assert [record.getMessage() for record in caplog.records] == expected  # one log line each


def test_only_files_named_txt_or_md_are_articles_and_odd_entries_are_passed_over(tmp_path: Path):
    (tmp_path / "b-story.TXT").write_text(PROSE)
    (tmp_path / "a-story.md").write_text(PROSE)
    (tmp_path / "folder.txt").mkdir()
    (tmp_path / "broken.txt").symlink_to(tmp_path / "missing.txt")
    (tmp_path / "loop.txt").symlink_to(tmp_path / "loop.txt")  # resolving it fails (ELOOP)
    (tmp_path / "linked.txt").symlink_to(tmp_path / "a-story.md")

    names = [path.name for path in articles_module.article_files(tmp_path)]

    assert names == ["a-story.md", "b-story.TXT", "linked.txt"]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "the file is empty"),
        (b" \n\n\t\n", "the file is empty"),
        (b"caf\xe9 au lait, the council said on Tuesday.\n", "not UTF-8 text"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary file"),
        (b"0:00\nPlay Live Radio\nNext Up:\n", "no paragraphs of prose"),
        (codecs.BOM_UTF16_LE + ("\x01\x02\x03" * 100).encode("utf-16-le"), "binary file"),
        (codecs.BOM_UTF16_BE + " \n".encode("utf-16-be"), "the file is empty"),
    ],
    ids=["empty", "whitespace", "latin-1", "binary", "furniture-only", "utf-16-binary", "utf-16-blank"],
)
def test_a_bad_file_is_skipped_with_a_warning_naming_it_and_the_others_are_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, content: bytes, problem: str
):
    (tmp_path / "bad.txt").write_bytes(content)
    (tmp_path / "good.txt").write_text(PROSE)

    with caplog.at_level(logging.WARNING, logger="index.articles"):
        loaded = load_articles(tmp_path)

    assert [article.source for article in loaded.articles] == ["good.txt"]
    assert len(loaded.warnings) == 1
    assert "bad.txt" in loaded.warnings[0]
    assert problem in loaded.warnings[0]
    assert any("bad.txt" in record.getMessage() for record in caplog.records)


ACCENTED = "Café owners told the council on Tuesday that the city’s new rules would cost them dearly.\n"


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [
        ("utf-16-le", codecs.BOM_UTF16_LE),
        ("utf-16-be", codecs.BOM_UTF16_BE),
        ("utf-32-le", codecs.BOM_UTF32_LE),
        ("utf-32-be", codecs.BOM_UTF32_BE),
    ],
    ids=["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"],
)
def test_utf_16_and_utf_32_with_a_byte_order_mark_read_like_utf_8(tmp_path: Path, encoding: str, bom: bytes):
    page = f"{TITLE}\n\n{ACCENTED}\n{PROSE}"
    (tmp_path / "utf8.txt").write_text(page, encoding="utf-8")
    (tmp_path / "other.txt").write_bytes(bom + page.encode(encoding))

    utf8, other = read_article(tmp_path / "utf8.txt"), read_article(tmp_path / "other.txt")

    assert (other.title, other.captions, other.paragraphs) == (utf8.title, utf8.captions, utf8.paragraphs)
    assert other.paragraphs == (ACCENTED.strip(), PROSE.strip())


def test_a_byte_order_mark_before_bytes_that_are_not_that_encoding_is_named(tmp_path: Path):
    path = tmp_path / "odd.txt"
    path.write_bytes(codecs.BOM_UTF16_LE + PROSE.encode("utf-16-le") + b"\x00\xdc")  # a lone surrogate

    with pytest.raises(ArticleError, match=r"odd\.txt: not UTF-16 text \(byte \d+ can't be decoded\)"):
        read_article(path)


def test_a_web_page_without_an_article_is_skipped_with_the_reason(tmp_path: Path):
    (tmp_path / "app.html").write_text(web_pages.EMPTY_PAGE)
    (tmp_path / "good.txt").write_text(PROSE)

    loaded = load_articles(tmp_path)

    assert [article.source for article in loaded.articles] == ["good.txt"]
    assert loaded.warnings == ("skipped app.html: no paragraphs of prose found in it",)


def test_an_over_size_file_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(articles_module, "MAX_ARTICLE_BYTES", 1024 * 1024)
    (tmp_path / "book.txt").write_text(PROSE * (2 * 1024 * 1024 // len(PROSE)))
    (tmp_path / "good.txt").write_text(PROSE)

    loaded = load_articles(tmp_path)

    assert [article.source for article in loaded.articles] == ["good.txt"]
    assert "book.txt" in loaded.warnings[0]
    assert "over the 1 MB limit" in loaded.warnings[0]


def test_when_every_file_is_bad_the_error_names_each_problem(tmp_path: Path):
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "latin.md").write_bytes(b"caf\xe9\n")

    with pytest.raises(ArticleError) as raised:
        load_articles(tmp_path)

    message = str(raised.value)
    assert "no usable article" in message
    assert "empty.txt: the file is empty" in message
    assert "latin.md: not UTF-8 text" in message
