"""Hostile article files: a clear warning naming the file, or a sensible index of every word —
never a crash, never a file read whole into memory just to be refused, never silent truncation.

(Empty, binary, invalid UTF-8 and furniture-only files are in test_articles.py; CRLF, HTML and
no blank lines in test_cleaning.py.)
"""

from __future__ import annotations

import logging
import tracemalloc
from pathlib import Path

import pytest

from index.articles import MAX_ARTICLE_BYTES, article_passages, read_article
from index.settings import IndexSettings
from index.startup import open_retriever
from tests.fakes import FakeEmbedder

HUGE_BYTES = 50 * 1024 * 1024
HEADLINE = "Council Meets About The Budget"
LAST = "Last of all, the council funded the aquarium."


def sparse_file(path: Path, size: int) -> None:
    """A file of `size` bytes that takes no disk space and was never held in memory."""
    with path.open("wb") as handle:
        handle.truncate(size)


def test_a_50_mb_article_is_skipped_by_name_at_every_start_and_never_read_into_memory(
    settings: IndexSettings, caplog: pytest.LogCaptureFixture
):
    sparse_file(settings.articles_dir / "huge.txt", HUGE_BYTES)
    assert HUGE_BYTES > MAX_ARTICLE_BYTES
    peaks = []

    tracemalloc.start()
    try:
        for _ in range(2):  # the first start builds the index, the second checks it is current
            tracemalloc.reset_peak()
            with caplog.at_level(logging.WARNING):
                retriever, _ = open_retriever(settings, FakeEmbedder())
            peaks.append(tracemalloc.get_traced_memory()[1])
    finally:
        tracemalloc.stop()

    assert retriever.info.titles == ("Philadelphia To Stop Giving ICE Real-Time Arrest Data",)
    assert "skipped huge.txt: 50.0 MB is over the 5 MB limit for one article" in caplog.text
    # Checking whether the index is current used to read every file whole to hash it.
    assert max(peaks) < HUGE_BYTES / 2, [f"{peak / 1e6:.0f} MB" for peak in peaks]


def giant_paragraph(size: int) -> str:
    """One paragraph of about `size` characters: ordinary sentences with abbreviations, and every
    97th a run-on of 300 words with no full stop before its end; then `LAST`."""
    sentences, length, number = [], 0, 0
    while length < size:
        if number % 97 == 0:
            sentence = " ".join(f"Clause{number}x{word}" for word in range(300)) + "."
        else:
            sentence = f"Sentence {number} says the council met on Tuesday, Aug. 31, about item {number}."
        sentences.append(sentence)
        length += len(sentence) + 1
        number += 1
    return " ".join([*sentences, LAST])


@pytest.fixture(scope="module")
def giant_article(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("giant") / "giant.txt"
    path.write_text(f"{HEADLINE}\n\n{giant_paragraph(1_000_000)}\n")
    return path


@pytest.mark.timeout(120)  # a hang guard: it takes well under a second (docs/reliability.md)
def test_one_giant_paragraph_of_1_mb_is_split_to_the_window_without_losing_a_word(giant_article: Path):
    embedder = FakeEmbedder()
    article = read_article(giant_article)
    [paragraph] = article.paragraphs

    passages = article_passages(article, embedder.max_tokens, embedder.count_tokens)

    assert len(paragraph) > 1_000_000
    assert all(embedder.count_tokens(passage.text) <= embedder.max_tokens for passage in passages)
    assert " ".join(passage.text for passage in passages).split() == paragraph.split()
    assert {passage.paragraph for passage in passages} == {1}
    assert [passage.part for passage in passages] == list(range(len(passages)))


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_one_giant_paragraph_of_1_mb_fits_the_real_models_window_without_losing_a_word(
    giant_article: Path, real_embedder
):
    article = read_article(giant_article)

    passages = article_passages(article, real_embedder.max_tokens, real_embedder.count_tokens)

    assert all(real_embedder.count_tokens(passage.text) <= real_embedder.max_tokens for passage in passages)
    assert " ".join(passage.text for passage in passages).split() == article.paragraphs[0].split()


@pytest.mark.timeout(120)
def test_a_giant_paragraph_is_indexed_and_its_last_sentence_is_found(tmp_path: Path):
    articles = tmp_path / "articles"
    articles.mkdir()
    # 250 KB: the build of 1 MB is measured in docs/reliability.md; here, that it is sensible.
    (articles / "giant.txt").write_text(f"{HEADLINE}\n\n{giant_paragraph(250_000)}\n")

    settings = IndexSettings(articles_dir=articles, index_dir=tmp_path / "index")
    retriever, stats = open_retriever(settings, FakeEmbedder())

    assert stats is not None
    assert stats.passages == retriever.info.passages > 500
    assert retriever.ask("Did the council fund the aquarium?").hits[0].passage.text.endswith(LAST)


TINY = "Item {number} was approved by the board on Tuesday."


@pytest.mark.parametrize("separator", ["\n\n", "\n", "\r\n"], ids=["blank-lines", "lines", "crlf-lines"])
def test_thousands_of_tiny_paragraphs_each_become_a_numbered_passage(tmp_path: Path, separator: str):
    articles = tmp_path / "articles"
    articles.mkdir()
    paragraphs = [TINY.format(number=number) for number in range(1, 5001)]
    (articles / "minutes.txt").write_bytes(separator.join([HEADLINE, *paragraphs]).encode())

    settings = IndexSettings(articles_dir=articles, index_dir=tmp_path / "index")
    retriever, _ = open_retriever(settings, FakeEmbedder())

    passages = retriever.data.passages
    assert [passage.text for passage in passages] == paragraphs
    assert [passage.paragraph for passage in passages] == list(range(1, 5001))
    assert retriever.info.titles == (HEADLINE,)
    assert retriever.ask("Was item 4321 approved?").hits[0].passage.paragraph == 4321


def test_html_with_thousands_of_tiny_paragraphs_keeps_them_all(tmp_path: Path):
    articles = tmp_path / "articles"
    articles.mkdir()
    paragraphs = [TINY.format(number=number) for number in range(1, 2001)]
    html = "".join(f"<p>{text}</p>" for text in paragraphs)
    (articles / "page.txt").write_text(f"<html><body><h1>{HEADLINE}</h1>{html}</body></html>")

    settings = IndexSettings(articles_dir=articles, index_dir=tmp_path / "index")
    retriever, _ = open_retriever(settings, FakeEmbedder())

    assert [passage.text for passage in retriever.data.passages] == paragraphs
    assert retriever.info.titles == (HEADLINE,)
