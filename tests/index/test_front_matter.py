"""Front matter: read strictly, written so it reads back the same, never a paragraph; kept on the
article, its passages and the index's manifest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.articles import ArticleError, article_passages, read_article
from index.build import build_index, index_store
from index.front_matter import FrontMatter, FrontMatterError, format_front_matter, split_front_matter
from index.passages import count_words
from index.settings import IndexSettings
from index.startup import open_retriever
from index.store import Manifest
from tests.fakes import FakeEmbedder

URL = "https://example.org/news/harbor-bridge?id=7#top"
BODY = (
    "The harbor bridge will close for six weeks of repairs starting in June, the transit agency said.\n\n"
    "Commuters were told to use the ferry or the tunnel while crews replace the bridge deck.\n"
)
FRONT = (
    "---\n"
    'title: "Harbor Bridge To Close For Repairs"\n'
    f"source: {URL}\n"
    "date: 2024-05-01\n"
    "added: 2024-05-02T08:30:00+00:00\n"
    "---\n"
)


def test_the_front_matter_is_read_and_the_text_after_it_returned():
    front, body = split_front_matter(FRONT + "\n" + BODY)

    assert front == FrontMatter(
        title="Harbor Bridge To Close For Repairs",
        source=URL,
        date="2024-05-01",
        added="2024-05-02T08:30:00+00:00",
    )
    assert body == "\n" + BODY


@pytest.mark.parametrize(
    "title",
    [
        '"Quoted" from the start',
        "A title: with a colon # and a hash",
        "It's 'single' quoted",
        "Café – ünïcode",
    ],
)
def test_a_written_front_matter_reads_back_the_same(title: str):
    front = FrontMatter(title=title, source=URL, date="2024-05-01", added="2024-05-02T08:30:00+00:00")

    assert split_front_matter(format_front_matter(front) + BODY) == (front, BODY)


def test_other_keys_and_their_indented_lines_are_passed_over():
    text = "---\nauthor: Jane\ntags:\n  - roads\n  - transit\ntitle: Bridge closes\n# a comment\n---\n" + BODY

    assert split_front_matter(text) == (FrontMatter(title="Bridge closes"), BODY)


@pytest.mark.parametrize(
    "text",
    [
        "---\nBreaking news from the harbor\n---\n" + BODY,  # a divider, a line, a divider
        "---\ntitle: no closing line\n" + BODY,
        "Headline\n---\ntitle: not at the top\n---\n" + BODY,
    ],
)
def test_a_top_block_that_is_not_front_matter_leaves_the_text_as_it_is(text: str):
    assert split_front_matter(text) == (FrontMatter(), text)


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        ("source: javascript:alert(1)", r"not an http\(s\) URL"),
        ("source: ftp://example.org/a", r"not an http\(s\) URL"),
        ("date: yesterday", "not an ISO date"),
        ("added: 2024-13-45", "not an ISO date"),
        ("title: A\ntitle: B", "names 'title' twice"),
        ('title: "unclosed', "is not one quoted string"),
        ("title: A\n  continued", "must be on one line"),
    ],
)
def test_malformed_front_matter_is_refused_saying_what_is_wrong(lines: str, problem: str):
    with pytest.raises(FrontMatterError, match=problem):
        split_front_matter(f"---\n{lines}\n---\n{BODY}")


def test_a_value_on_two_lines_is_never_written():
    with pytest.raises(FrontMatterError, match="one line"):
        format_front_matter(FrontMatter(title="Two\nlines"))


def test_an_article_file_keeps_its_front_matter_and_none_of_it_becomes_a_paragraph(tmp_path: Path):
    path = tmp_path / "bridge.txt"
    path.write_text(FRONT + "\n" + BODY, encoding="utf-8")

    article = read_article(path)

    assert article.title == "Harbor Bridge To Close For Repairs"
    assert (article.url, article.date, article.added) == (URL, "2024-05-01", "2024-05-02T08:30:00+00:00")
    assert article.paragraphs == tuple(BODY.strip().split("\n\n"))
    assert article.captions == ()


def test_a_headline_that_repeats_the_front_matter_title_is_not_a_paragraph(tmp_path: Path):
    # written as a sentence, it would otherwise be read as the first paragraph
    path = tmp_path / "bridge.txt"
    headline = "The harbor bridge will close in June."
    path.write_text(f'---\ntitle: "{headline}"\n---\n\n{headline}\n\n{BODY}')

    article = read_article(path)

    assert article.title == "The harbor bridge will close in June."
    assert article.paragraphs == tuple(BODY.strip().split("\n\n"))


def test_an_article_file_with_malformed_front_matter_is_an_article_error_naming_it(tmp_path: Path):
    path = tmp_path / "bridge.md"
    path.write_text("---\nsource: not a url\n---\n" + BODY)

    with pytest.raises(
        ArticleError, match=r"^bridge\.md: front matter source 'not a url' is not an http\(s\) URL"
    ):
        read_article(path)


def test_the_front_matter_of_a_markdown_file_and_a_web_page_is_read_too(tmp_path: Path):
    (tmp_path / "a.md").write_text(FRONT + "# Another Heading Entirely\n\n" + BODY)
    (tmp_path / "b.html").write_text(FRONT + f"<html><body><article><p>{BODY}</p></article></body></html>")

    for name in ("a.md", "b.html"):
        article = read_article(tmp_path / name)
        assert (article.title, article.url) == ("Harbor Bridge To Close For Repairs", URL)


def test_every_passage_knows_its_article_s_url(tmp_path: Path):
    (tmp_path / "bridge.txt").write_text(FRONT + BODY)
    (tmp_path / "plain.txt").write_text("Plain Headline Here\n\n" + BODY)

    linked = article_passages(read_article(tmp_path / "bridge.txt"), 40, count_words)
    plain = article_passages(read_article(tmp_path / "plain.txt"), 40, count_words)

    assert {passage.url for passage in linked} == {URL}
    assert {passage.url for passage in plain} == {None}


def test_the_manifest_records_each_article_s_source_date_added_and_passages(settings: IndexSettings):
    (settings.articles_dir / "bridge.txt").write_text(FRONT + BODY)

    retriever, _ = open_retriever(settings, FakeEmbedder())

    entries = {entry["source"]: entry for entry in retriever.data.manifest.articles}
    assert entries["bridge.txt"]["source_url"] == URL
    assert entries["bridge.txt"]["added"] == "2024-05-02T08:30:00+00:00"
    assert entries["bridge.txt"]["passages"] == 2
    assert entries["philadelphia-ice-arrest-data.txt"]["source_url"] is None
    assert entries["philadelphia-ice-arrest-data.txt"]["passages"] == 19  # the fake model's window is short
    assert sum(entry["passages"] for entry in entries.values()) == retriever.info.passages
    # and the saved index says the same, and each answer's passage carries the link
    saved = Manifest.from_json(json.loads((settings.index_dir / "manifest.json").read_text()))
    assert saved.articles == retriever.data.manifest.articles
    [hit, *_] = retriever.ask("When will the harbor bridge close for repairs?").hits
    assert (hit.passage.source, hit.passage.url) == ("bridge.txt", URL)
    assert index_store(settings).load().passages[0].url == URL  # bridge.txt is read first


def test_an_index_built_before_the_manifest_recorded_sources_is_rebuilt_reusing_every_vector(
    settings: IndexSettings,
):
    open_retriever(settings, FakeEmbedder())
    manifest_path = settings.index_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    for entry in manifest["articles"]:  # as an index of the previous version wrote them
        del entry["source_url"], entry["added"], entry["passages"]
    manifest_path.write_text(json.dumps(manifest))

    embedder = FakeEmbedder()
    retriever, stats = open_retriever(settings, embedder)

    assert stats is not None
    assert (stats.embedded, stats.reused > 0) == (0, True)
    assert retriever.data.manifest.articles[0]["passages"] == retriever.info.passages


def test_build_index_counts_each_article_s_passages_in_order(tmp_path: Path):
    from index.articles import load_articles

    (tmp_path / "a.txt").write_text("First Headline Here\n\n" + BODY)
    (tmp_path / "b.txt").write_text(
        "Second Headline Here\n\nOnly one paragraph of prose is in this one, it says.\n"
    )

    data, _ = build_index(load_articles(tmp_path), FakeEmbedder())

    assert [entry["passages"] for entry in data.manifest.articles] == [2, 1]
