"""`open_retriever`: serve the saved index when it matches, rebuild it (saying why) when it doesn't."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from index import articles
from index.articles import ArticleError
from index.settings import IndexSettings
from index.startup import open_retriever
from index.store import IndexStore, IndexUnavailable
from tests.conftest import SHIPPED_ARTICLE
from tests.fakes import FakeEmbedder
from tests.index import web_pages

SECOND_ARTICLE = (
    "Harbor Bridge To Close For Repairs\n\n"
    "The harbor bridge will close for six weeks of repairs starting in June, the transit agency said.\n\n"
    "Commuters were told to use the ferry or the tunnel while crews replace the bridge deck.\n"
)


def rebuild_reasons(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("rebuilding the index")]


@pytest.fixture
def built(settings: IndexSettings) -> IndexSettings:
    """Settings whose INDEX_DIR already holds an index built with the default fake embedder."""
    open_retriever(settings, FakeEmbedder())
    return settings


def test_a_missing_index_is_built_and_saved(settings: IndexSettings, caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.INFO, logger="index.startup"):
        retriever, stats = open_retriever(settings, FakeEmbedder())

    assert stats is not None
    assert stats.articles == 1
    assert stats.passages == retriever.info.passages
    assert rebuild_reasons(caplog) == [f"rebuilding the index: no index at {settings.index_dir}"]
    assert IndexStore(settings.index_dir).load().passages == retriever.data.passages


def test_a_matching_index_is_served_without_embedding_anything(
    built: IndexSettings, caplog: pytest.LogCaptureFixture
):
    embedder = FakeEmbedder()

    with caplog.at_level(logging.INFO, logger="index.startup"):
        retriever, stats = open_retriever(built, embedder)

    assert stats is None
    assert embedder.embedded == 0
    assert rebuild_reasons(caplog) == []
    assert retriever.info.titles == ("Philadelphia To Stop Giving ICE Real-Time Arrest Data",)


def change_text(settings: IndexSettings) -> None:
    path = settings.articles_dir / SHIPPED_ARTICLE.name
    path.write_text(path.read_text().replace("not yet received a response", "not yet received any reply"))


def add_article(settings: IndexSettings) -> None:
    (settings.articles_dir / "harbor-bridge.txt").write_text(SECOND_ARTICLE)


def remove_article(settings: IndexSettings) -> None:
    (settings.articles_dir / SHIPPED_ARTICLE.name).unlink()
    add_article(settings)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (change_text, f"the articles changed (changed: {SHIPPED_ARTICLE.name})"),
        (add_article, "the articles changed (added: harbor-bridge.txt)"),
        (remove_article, f"the articles changed (added: harbor-bridge.txt; removed: {SHIPPED_ARTICLE.name})"),
    ],
    ids=["text-changed", "article-added", "article-removed"],
)
def test_a_stale_index_is_rebuilt_with_one_log_line_saying_why(
    built: IndexSettings,
    caplog: pytest.LogCaptureFixture,
    change: Callable[[IndexSettings], None],
    reason: str,
):
    change(built)

    with caplog.at_level(logging.INFO, logger="index.startup"):
        retriever, stats = open_retriever(built, FakeEmbedder())

    assert stats is not None
    assert rebuild_reasons(caplog) == [f"rebuilding the index: {reason}"]
    served = {article["source"] for article in retriever.data.manifest.articles}
    assert served == {path.name for path in built.articles_dir.iterdir()}
    # and the rebuilt index is saved: the next start serves it as it is
    assert open_retriever(built, FakeEmbedder())[1] is None


def test_an_article_unchanged_since_the_build_is_not_read_at_start(
    settings: IndexSettings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    path = settings.articles_dir / SHIPPED_ARTICLE.name
    os.utime(path, ns=(1_600_000_000 * 10**9,) * 2)  # last written long ago...
    monkeypatch.setattr(articles, "SETTLED_NS", 0)  # ...as its ctime, which can't be set back, says too
    open_retriever(settings, FakeEmbedder())
    [article] = IndexStore(settings.index_dir).load().manifest.articles
    assert article["signature"].startswith(f"{path.stat().st_size}:")

    def no_reading(*_: object) -> None:
        raise AssertionError("an unchanged article was hashed")

    with monkeypatch.context() as patch:
        patch.setattr(hashlib, "file_digest", no_reading)
        assert open_retriever(settings, FakeEmbedder())[1] is None

    os.utime(path)  # touched, not changed: hashed, found the same, not rebuilt
    assert open_retriever(settings, FakeEmbedder())[1] is None

    text = path.read_text()
    path.write_text(text.replace("Kenney", "Kenner"))  # the same size
    with caplog.at_level(logging.INFO, logger="index.startup"):
        assert open_retriever(settings, FakeEmbedder())[1] is not None
    assert rebuild_reasons(caplog) == [f"rebuilding the index: the articles changed (changed: {path.name})"]


def test_an_article_written_just_before_the_build_is_hashed_at_every_start(built: IndexSettings):
    """Its times may be those of a same-size write in the same clock tick: they vouch for nothing."""
    [article] = IndexStore(built.index_dir).load().manifest.articles
    assert article["signature"] == ""

    path = built.articles_dir / SHIPPED_ARTICLE.name
    path.write_text(path.read_text().replace("Kenney", "Kenner"))  # the same size, at once
    assert open_retriever(built, FakeEmbedder())[1] is not None


def test_a_different_model_makes_the_index_stale_and_nothing_is_reused(
    built: IndexSettings, caplog: pytest.LogCaptureFixture
):
    other = FakeEmbedder(name="another-model")

    with caplog.at_level(logging.INFO, logger="index.startup"):
        retriever, stats = open_retriever(built, other)

    assert stats is not None
    assert stats.reused == 0
    assert stats.embedded == other.embedded > 0
    [reason] = rebuild_reasons(caplog)
    assert "the model changed (fake-hashing@512 → another-model@512)" in reason
    assert retriever.data.manifest.model == other.identity


def test_a_skipped_file_does_not_make_the_index_stale_at_every_start(
    built: IndexSettings, caplog: pytest.LogCaptureFixture
):
    (built.articles_dir / "notes.txt").write_bytes(b"caf\xe9 au lait\n")  # not UTF-8: always skipped

    for _ in range(2):
        caplog.clear()
        with caplog.at_level(logging.INFO):
            _, stats = open_retriever(built, FakeEmbedder())

        assert stats is None
        assert rebuild_reasons(caplog) == []
        assert any("skipped notes.txt: not UTF-8" in record.getMessage() for record in caplog.records)

    # once it is fixed it is news
    (built.articles_dir / "notes.txt").write_text(SECOND_ARTICLE)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="index.startup"):
        retriever, stats = open_retriever(built, FakeEmbedder())
    assert rebuild_reasons(caplog) == ["rebuilding the index: the articles changed (added: notes.txt)"]
    assert "Harbor Bridge To Close For Repairs" in retriever.info.titles


def test_a_web_page_is_tracked_like_any_article_and_other_files_never_make_the_index_stale(
    built: IndexSettings, caplog: pytest.LogCaptureFixture
):
    page = built.articles_dir / "park-budget.html"
    page.write_text(web_pages.NEWS_PAGE)
    with caplog.at_level(logging.INFO, logger="index.startup"):
        retriever, _ = open_retriever(built, FakeEmbedder())
    assert rebuild_reasons(caplog) == ["rebuilding the index: the articles changed (added: park-budget.html)"]
    assert web_pages.TITLE in retriever.info.titles

    (built.articles_dir / "notes.pdf").write_bytes(b"%PDF-1.4")  # skipped at a build, never news
    assert open_retriever(built, FakeEmbedder())[1] is None

    page.write_text(web_pages.NEWS_PAGE.replace("Tuesday", "Monday"))
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="index.startup"):
        assert open_retriever(built, FakeEmbedder())[1] is not None
    assert rebuild_reasons(caplog) == [
        "rebuilding the index: the articles changed (changed: park-budget.html)"
    ]


def truncate_vectors(index_dir: Path) -> None:
    path = index_dir / "vectors.npy"
    path.write_bytes(path.read_bytes()[:200])


def garbage_lexical(index_dir: Path) -> None:
    (index_dir / "lexical-postings.npy").write_bytes(b"these are not BM25 postings" * 10)


def bad_json_manifest(index_dir: Path) -> None:
    (index_dir / "manifest.json").write_text('{"schema": 2, "model": ')


def edited_passage(index_dir: Path) -> None:
    path = index_dir / "passages.jsonl"
    path.write_text(path.read_text().replace("Kenney", "Someone"))


def other_schema(index_dir: Path) -> None:
    path = index_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps({**manifest, "schema": 999}))


def missing_manifest(index_dir: Path) -> None:
    (index_dir / "manifest.json").unlink()


def missing_vectors(index_dir: Path) -> None:
    (index_dir / "vectors.npy").unlink()


CORRUPTIONS = {
    truncate_vectors: "vectors.npy does not match the manifest's checksum",
    garbage_lexical: "lexical-postings.npy does not match the manifest's checksum",
    bad_json_manifest: "is unreadable",
    edited_passage: "passages.jsonl does not match the manifest's checksum",
    other_schema: "built by schema 999",
    missing_manifest: "has no manifest",
    missing_vectors: "is unreadable",
}


@pytest.mark.parametrize(
    ("corrupt", "message"), CORRUPTIONS.items(), ids=lambda c: getattr(c, "__name__", "")
)
def test_a_corrupt_index_is_unavailable_and_rebuilt(
    built: IndexSettings, caplog: pytest.LogCaptureFixture, corrupt: Callable[[Path], None], message: str
):
    good = IndexStore(built.index_dir).load()
    corrupt(built.index_dir)
    with pytest.raises(IndexUnavailable, match=message):
        IndexStore(built.index_dir).load()

    with caplog.at_level(logging.INFO, logger="index.startup"):
        retriever, stats = open_retriever(built, FakeEmbedder())

    assert stats is not None
    [reason] = rebuild_reasons(caplog)
    assert message in reason
    assert retriever.data.passages == good.passages
    assert IndexStore(built.index_dir).load().passages == good.passages


def test_a_missing_articles_dir_is_an_article_error_even_with_an_index(built: IndexSettings):
    shutil.rmtree(built.articles_dir)

    with pytest.raises(ArticleError, match="does not exist"):
        open_retriever(built, FakeEmbedder())


def test_no_usable_article_is_an_error_never_an_empty_index(tmp_path: Path):
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "furniture.txt").write_text("Play Live Radio\nNext Up:\n0:00\n")
    settings = IndexSettings(articles_dir=articles, index_dir=tmp_path / "index")

    with pytest.raises(ArticleError, match="no usable article"):
        open_retriever(settings, FakeEmbedder())

    assert not settings.index_dir.exists()


def test_when_every_article_goes_bad_the_old_index_is_not_replaced(built: IndexSettings):
    saved = IndexStore(built.index_dir).load()
    (built.articles_dir / SHIPPED_ARTICLE.name).write_bytes(b"\x00\x01binary now")

    with pytest.raises(ArticleError, match="binary file"):
        open_retriever(built, FakeEmbedder())

    assert IndexStore(built.index_dir).load().passages == saved.passages
