"""Building an index: passages sized on what the model reads of them."""

from __future__ import annotations

from index.aliases import LibraryAliases
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
    aliases = LibraryAliases.from_manifest(data.manifest.aliases)
    assert aliases.of("a.txt").acronyms == {"NWS": "National Weather Service"}

    reads = [embedder.count_tokens(model_text(p.text, p, aliases)) for p in data.passages]
    assert max(reads) <= WINDOW
    assert [p.paragraph for p in data.passages] == [1, 2, 2]  # paragraph 2 in two parts, in order
    assert " ".join(p.text for p in data.passages[1:]) == long  # nothing lost


def article(source: str, *paragraphs: str) -> Article:
    return Article(source=source, title=source, captions=(), paragraphs=paragraphs, digest=source)


def test_adding_an_article_re_embeds_only_its_own_text():
    # The new article spells out an acronym the first one uses bare, and describes a name it names:
    # learned from every article together, those would change how the first one reads.
    first = article("a.txt", "ICE agents met Kenney on Monday.", "The NWS issued a warning.")
    second = article(
        "b.txt",
        "Immigration and Customs Enforcement (ICE) said so.",
        "Mayor Jim Kenney, a Democrat, spoke.",
        "The National Weather Service (NWS) agreed.",
    )
    embedder = FakeEmbedder(max_tokens=WINDOW)
    before, _ = build_index(ArticleSet(articles=(first,), warnings=()), embedder)

    after, stats = build_index(ArticleSet(articles=(first, second), warnings=()), embedder, before)

    first_units = [unit.key for unit in after.units if after.passages[unit.passage].source == "a.txt"]
    assert first_units == [unit.key for unit in before.units]  # the first article reads as before
    assert stats.embedded == len(after.units) - len(before.units)  # only the new article's units
    aliases = LibraryAliases.from_manifest(after.manifest.aliases)
    assert aliases.of("a.txt").acronyms == {}
    assert aliases.of("b.txt").acronyms == {
        "ICE": "Immigration and Customs Enforcement",
        "NWS": "National Weather Service",
    }


def test_an_index_saved_with_aliases_of_every_article_together_keeps_reading_them():
    old = {"acronyms": {"ICE": "Immigration and Customs Enforcement"}, "descriptions": {}, "roles": {}}
    aliases = LibraryAliases.from_manifest(old)
    assert aliases.of("a.txt").acronyms == aliases.of("b.txt").acronyms == old["acronyms"]
