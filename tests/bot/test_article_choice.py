"""Which article a member means: autocomplete choices and typed values."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.article_choice import MAX_CHOICE_CHARS, MAX_CHOICES, article_choices, chosen_article
from index.retriever import ArticleInfo

ARTICLES = (
    ArticleInfo("ice.txt", "Philadelphia To Stop Giving ICE Real-Time Arrest Data", 17),
    ArticleInfo("aquarium.md", "Springfield Opens Its New Aquarium", 3),
    ArticleInfo("budget.txt", "City Budget Gives the Aquarium More Money", 9),
)


def test_titles_that_start_with_what_was_typed_come_first_then_those_containing_it():
    assert [source for _, source in article_choices(ARTICLES, "city")] == ["budget.txt"]
    assert [source for _, source in article_choices(ARTICLES, "Aquarium")] == ["aquarium.md", "budget.txt"]
    assert [source for _, source in article_choices(ARTICLES, "spring aqua")] == ["aquarium.md"]
    assert article_choices(ARTICLES, "zebra") == []


def test_nothing_typed_offers_every_article_in_order():
    assert [source for _, source in article_choices(ARTICLES, "")] == ["ice.txt", "aquarium.md", "budget.txt"]


def test_a_source_too_long_to_be_a_value_is_not_offered():
    long = ArticleInfo("a" * 101 + ".txt", "A Long Name", 1)
    assert article_choices((long,), "") == []


def test_the_article_named_by_its_source_or_its_one_title():
    assert chosen_article(ARTICLES, "aquarium.md") == ARTICLES[1]
    assert chosen_article(ARTICLES, " springfield opens its new AQUARIUM ") == ARTICLES[1]
    assert chosen_article(ARTICLES, "Aquarium") is None
    twins = (*ARTICLES, ArticleInfo("copy.md", ARTICLES[1].title, 3))
    assert chosen_article(twins, ARTICLES[1].title) is None  # two articles have it: say which
    assert chosen_article(twins, "copy.md") == twins[-1]


titles = st.text(min_size=0, max_size=300)
articles = st.lists(
    st.builds(ArticleInfo, st.text(min_size=1, max_size=120), titles, st.integers(0, 50)), max_size=60
)


@given(articles, st.text(max_size=120))
def test_choices_always_fit_discords_limits(offered: list[ArticleInfo], typed: str):
    choices = article_choices(offered, typed)
    assert len(choices) <= MAX_CHOICES
    for name, value in choices:
        assert 1 <= len(name) <= MAX_CHOICE_CHARS
        assert 1 <= len(value) <= MAX_CHOICE_CHARS
