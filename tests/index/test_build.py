"""Building an index: passages sized on what the model reads of them."""

from __future__ import annotations

from index.aliases import Aliases
from index.articles import Article, ArticleSet, article_passages
from index.build import build_index, model_text
from tests.fakes import FakeEmbedder

WINDOW = 40  # the fake model's window, in words


def test_every_passage_fits_the_window_with_its_aliases_spelled_out() -> None:
    # Paragraph 2 is just inside the window as written, but the model reads it with "NWS" spelled out
    # (learned from paragraph 1): sized on the raw text, its last words would be cut off unseen.
    lede = "The National Weather Service (NWS) warned of storms across the county on Monday."
    filler = " ".join(f"word{i}" for i in range(WINDOW - 12))
    long = f"NWS forecasters said the storms would last. {filler} and the final words here."
    article = Article(source="a.txt", title="Storms", captions=(), paragraphs=(lede, long), digest="x")
    embedder = FakeEmbedder(max_tokens=WINDOW)
    assert embedder.count_tokens(long) <= WINDOW  # as written it fits: the old sizing kept it whole
    assert len(article_passages(article, WINDOW, embedder.count_tokens)) == 2

    data, _ = build_index(ArticleSet(articles=(article,), warnings=()), embedder)
    aliases = Aliases.from_manifest(data.manifest.aliases)
    assert aliases.acronyms == {"NWS": "National Weather Service"}

    reads = [embedder.count_tokens(model_text(p.text, p, aliases)) for p in data.passages]
    assert max(reads) <= WINDOW
    assert [p.paragraph for p in data.passages] == [1, 2, 2]  # paragraph 2 in two parts, in order
    assert " ".join(p.text for p in data.passages[1:]) == long  # nothing lost
