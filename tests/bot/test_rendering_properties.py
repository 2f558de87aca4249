"""Property: whatever the question and passages say, every message fits Discord's limits and
carries no @everyone, @here or <@…> that could render or ping."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot import rendering
from index.answer import Answer, Hit
from index.build import BuildStats
from index.library import LibraryEntry
from index.passages import Passage
from tests.bot.limits import RAW_MENTION, limit_problems

TRICKY = [
    "@everyone",
    "@here",
    "<@123456789012345678>",
    "<@!1>",
    "<@&22>",
    "@",
    "<",
    ">",
    "*",
    "**",
    "_",
    "__",
    "`",
    "```",
    "~~",
    "||",
    "\\",
    "# ",
    "> ",
    "- ",
    ". ",
    "! ",
    "? ",
    "… ",
    '." ',
    "\n",
    "\n\n",
    " ",
    "https://example.com/a_b*c?d=@everyone",
    "[link](https://x.y)",
    "word",
    "Mr. ",
    "é",
    "😀",
    "\u200b",
    "\u202e",
]
text = st.lists(st.sampled_from(TRICKY) | st.text(max_size=12), max_size=300).map("".join)
long_text = st.lists(st.sampled_from(TRICKY) | st.text(min_size=50, max_size=400), max_size=40).map("".join)


@st.composite
def hits(draw: st.DrawFn) -> Hit:
    body = draw(text | long_text)
    if body and draw(st.booleans()):  # a key sentence from inside the passage, as the retriever gives
        start = draw(st.integers(0, len(body) - 1))
        key = body[start : draw(st.integers(start, len(body)))]
    else:
        key = draw(text)
    passage = Passage(
        text=body,
        article=draw(text),
        source="a.txt",
        paragraph=draw(st.integers(0, 10_000)),
        kind=draw(st.sampled_from(["body", "caption"])),
        url=draw(st.none() | text | text.map(lambda path: f"https://example.com/{path}")),
    )
    return Hit(passage=passage, score=0.5, key_sentence=key)


answers = st.builds(
    Answer,
    question=text | long_text,
    confidence=st.sampled_from(["high", "low", "none"]),
    hits=st.lists(hits(), max_size=3).map(tuple),
    notice=st.none() | text,
)


@settings(max_examples=300, deadline=None)
@given(answers)
def test_answer_messages_fit_and_never_mention(answer: Answer) -> None:
    assert limit_problems(embeds=[rendering.answer_embed(answer)]) == []
    assert limit_problems(embeds=rendering.more_passages_embeds(answer)) == []


@settings(max_examples=300, deadline=None)
@given(text | long_text, text, st.integers(16, 5000))
def test_passage_fits_any_limit(body: str, key: str, limit: int) -> None:
    out = rendering.passage_markdown(body, key, limit)
    assert len(out) <= limit
    assert not RAW_MENTION.search(out)


@settings(max_examples=200, deadline=None)
@given(text | long_text, st.integers(2, 3000))
def test_shorten_fits_any_limit(value: str, limit: int) -> None:
    out = rendering.shorten(value, limit)
    assert len(out) <= limit
    assert not RAW_MENTION.search(out)


@settings(max_examples=100, deadline=None)
@given(st.lists(text, min_size=1, max_size=5), text, st.booleans())
def test_about_fits(titles: list[str], bot_name: str, reindexing: bool) -> None:
    from index.retriever import IndexInfo

    info = IndexInfo(titles=tuple(titles), passages=3, built_at="2026-01-01T00:00:00+00:00", model=bot_name)
    embed = rendering.about_embed(info, reindexing=reindexing, bot_name=bot_name)
    assert limit_problems(rendering.help_text(bot_name), [embed]) == []


@settings(max_examples=100, deadline=None)
@given(text | long_text)
def test_reindex_texts_fit(reason: str) -> None:
    assert limit_problems(rendering.reindex_failed_text(reason)) == []


entries = st.builds(
    LibraryEntry,
    id=text,
    title=text | long_text,
    source=st.none() | text | text.map(lambda path: f"https://news.example/{path}"),
    added=st.sampled_from(["2026-12-04T23:00:00+00:00", "yesterday", ""]),
    passages=st.none() | st.integers(0, 100_000),
    file=st.just("a.txt"),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(entries, max_size=2000))
def test_the_article_list_fits_whatever_the_library_holds(library: list[LibraryEntry]) -> None:
    embed = rendering.articles_embed(library)
    assert limit_problems(embeds=[embed]) == []


@settings(max_examples=100, deadline=None)
@given(text | long_text, text | long_text, st.integers(0, 10**6), st.floats(0, 1e6))
def test_article_texts_fit(title: str, reason: str, passages: int, seconds: float) -> None:
    stats = BuildStats(1, passages, passages, 0, 0, seconds, warnings=(reason,) * 30)
    for shown in (
        rendering.article_added_text(title, passages, seconds, stats),
        rendering.article_add_failed_text(reason),
        rendering.confirm_removal_text(title),
        rendering.article_removed_text(title, seconds),
        rendering.article_remove_failed_text(reason),
        rendering.no_such_article_text(reason),
        rendering.article_stored_not_indexed_text(title, reason),
        rendering.article_removed_not_reindexed_text(title, reason),
    ):
        assert limit_problems(shown) == []
