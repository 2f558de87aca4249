"""Property tests: no text a user can paste or type makes cleaning or answering raise."""

from __future__ import annotations

import shutil
import unicodedata

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from index.cleaning import clean_article, looks_like_html, normalize_text
from index.retriever import (
    EMPTY_QUESTION,
    MAX_QUESTION_CHARS,
    SHORTENED_QUESTION,
    Retriever,
    normalize_question,
)
from index.settings import IndexSettings
from index.startup import open_retriever
from tests.conftest import SHIPPED_ARTICLE
from tests.fakes import FakeEmbedder

PIECES = [
    "\x00",
    "\x07",
    "\x1b[31m",
    "\x7f",
    "\x85",
    "\u200b",
    "\u200d",
    "\u2060",
    "\ufeff",
    "\u00ad",
    "\u200f",
    "\u202e",
    "\u2067",
    "\u2028",
    "\u00a0",
    "\u3000",
    "\t",
    "\n",
    "\n\n",
    "\r\n",
    "\r",
    "😀",
    "👩‍👩‍👧",
    "🇺🇸",
    "e\u0301",
    "ﬁ",
    "中文",
    "مرحبا",
    "עברית",
    "<@123456789012345678>",
    "<#123>",
    "@everyone",
    "@here",
    "`code`",
    "```",
    "**bold**",
    "_it_",
    "# ",
    "## Heading",
    "> quote",
    "- item",
    "1. item",
    "[link](http://x)",
    "![img](x.png)",
    "<p>",
    "</p>",
    "<br>",
    "<script>",
    "&amp;",
    "http://example.com",
    "news@wesa.fm",
    ".",
    "?",
    "!",
    "...",
    "…",
    '"',
    "”",
    ",",
    ";",
    ":",
    "—",
    "0:00",
    "/",
    "AP",
    "ICE",
    "Philadelphia",
    "the contract",
    "expires Aug. 31",
    "Kenney",
    "judicial warrant",
]
WORDS = st.sampled_from("the mayor said city will not renew a contract that expires Friday ICE".split())
TEXT = st.lists(
    st.one_of(st.text(max_size=40), st.sampled_from(PIECES), WORDS.map(lambda w: w + " ")), max_size=60
).map("".join)
LONG_TEXT = st.builds(lambda piece, times: piece * times, TEXT, st.integers(1, 200))
ANY_TEXT = st.one_of(TEXT, LONG_TEXT, st.text(max_size=3000), st.text(alphabet="?!.,;:-—…'\" ", max_size=50))


def collapsed(text: str) -> str:
    return " ".join(text.split())


@given(ANY_TEXT)
@settings(max_examples=300, deadline=None)
def test_normalize_question_never_raises_and_returns_a_clean_capped_question(raw: str):
    question, notice = normalize_question(raw)

    assert len(question) <= MAX_QUESTION_CHARS
    assert question == question.strip()
    assert "  " not in question
    assert not any(unicodedata.category(ch) in {"Cc", "Cf"} for ch in question)
    assert notice in {None, SHORTENED_QUESTION}
    assert notice is None or len(question) >= MAX_QUESTION_CHARS // 2  # cut at a word, not far back


@pytest.fixture(scope="module")
def fake_retriever(tmp_path_factory: pytest.TempPathFactory) -> Retriever:
    root = tmp_path_factory.mktemp("properties")
    (root / "articles").mkdir()
    shutil.copy(SHIPPED_ARTICLE, root / "articles")
    settings = IndexSettings(articles_dir=root / "articles", index_dir=root / "index")
    ready, _ = open_retriever(settings, FakeEmbedder())
    return ready


@given(question=ANY_TEXT, k=st.integers(min_value=-1, max_value=8))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_asking_anything_returns_a_valid_answer(fake_retriever: Retriever, question: str, k: int):
    answer = fake_retriever.ask(question, k=k)

    assert answer.confidence in {"high", "low", "none"}
    assert len(answer.hits) <= max(1, k)
    assert len(answer.question) <= MAX_QUESTION_CHARS
    assert answer.notice in {None, EMPTY_QUESTION, SHORTENED_QUESTION}
    assert (answer.notice == EMPTY_QUESTION) == (answer.question == "")
    assert (answer.confidence == "none") == (answer.hits == ())
    for hit in answer.hits:
        assert hit.key_sentence in hit.passage.text
    assert answer.to_json()["question"] == answer.question


LINE = st.lists(st.one_of(WORDS, st.sampled_from(PIECES), st.text(max_size=12)), max_size=25).map(" ".join)
PAGE = st.lists(st.one_of(LINE, st.just(""), ANY_TEXT), max_size=30).map("\n".join)


def check_clean(text: str, markdown: bool, html: bool = False) -> None:
    clean = clean_article(text, markdown=markdown, html=html)

    for part in (*clean.captions, *clean.paragraphs):
        assert part.strip() == part != ""
    assert clean.title is None or clean.title.strip()


@given(PAGE, st.booleans())
@example("![a](b) The mayor said the city will stop sharing its data.", True)  # found by hypothesis
@settings(max_examples=300, deadline=None)
def test_clean_article_never_raises_on_any_page(text: str, markdown: bool):
    check_clean(text, markdown)


MARKUP = st.sampled_from(
    [
        "<html>", "<body>", "<p>", "</p>", "<h1>", "</h1>", "<br>", "<figure>", "<figcaption>",
        "</figcaption>", "</figure>", "<ul><li>", "<table><tr><td>", "<script>", "</script>", "<!--",
        "-->", "<?xml version='1.0' encoding='latin-1'?>", "&amp;", "&#0;", "&bogus;", "<", "\ufdd0",
    ]
)  # fmt: skip
WEB_PAGE = st.lists(st.one_of(MARKUP, LINE), max_size=40).map("".join)


@given(WEB_PAGE)
@settings(max_examples=150, deadline=None)
def test_clean_article_never_raises_on_any_web_page(text: str):
    check_clean(text, markdown=False, html=True)


@given(PAGE)
@settings(max_examples=300, deadline=None)
def test_every_paragraph_is_text_of_the_page(text: str):
    """Cleaning only drops and re-joins lines: it never invents or rewrites words (plain text)."""
    normalized = normalize_text(text)
    assume(not looks_like_html(normalized))  # HTML is converted to text first: not plain text
    page = collapsed(normalized)

    clean = clean_article(text)

    for part in (*clean.captions, *clean.paragraphs):
        assert part
        assert collapsed(part) in page
    if clean.title is not None:
        assert collapsed(clean.title) in page


DEGENERATE = {
    "empty": "",
    "newlines": "\n\n\n",
    "one-long-word": "x" * 5000,
    "dots": "." * 1000,
    "zero-width": "\u200b" * 100,
    "empty-html": "<p></p>" * 10,
    "empty-headings": "# \n## \n",
    "carriage-returns": "\r" * 50,
}


@pytest.mark.parametrize("text", DEGENERATE.values(), ids=DEGENERATE.keys())
@pytest.mark.parametrize(("markdown", "html"), [(False, False), (True, False), (False, True)])
def test_a_page_without_prose_cleans_to_nothing(text: str, markdown: bool, html: bool):
    clean = clean_article(text, markdown=markdown, html=html)

    assert (clean.captions, clean.paragraphs) == ((), ())


def test_old_mac_line_endings_clean_like_unix_ones():
    text = SHIPPED_ARTICLE.read_text()

    assert clean_article(text.replace("\n", "\r")) == clean_article(text)
