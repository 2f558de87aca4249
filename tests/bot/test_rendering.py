"""Rendering answers: bold key sentences, citations, confidence words, escaping and limits."""

from __future__ import annotations

import pytest

from bot import rendering
from bot.rendering import answer_embed, more_passages_embeds, passage_markdown
from tests.bot.fakes import BODY, KEY, TITLE, FakeRetriever, answer, hit, stats
from tests.bot.limits import limit_problems


def test_high_confidence_answer() -> None:
    embed = answer_embed(answer("When does the contract expire?"))
    assert embed.title == "When does the contract expire?"
    assert f"**{rendering.escape(KEY)}**" in embed.description
    assert embed.description.startswith("Philadelphia will stop")
    assert [(f.name, f.value) for f in embed.fields] == [("Source", f"{TITLE} · ¶3")]
    assert embed.footer.text == rendering.CONFIDENCE_WORDS["high"]
    assert "high" in embed.footer.text
    assert limit_problems(embeds=[embed]) == []


def test_low_confidence_says_it_may_not_answer() -> None:
    embed = answer_embed(answer(confidence="low"))
    assert "closest passages" in embed.footer.text
    assert "may not answer this" in embed.footer.text
    assert embed.colour == rendering.COLOURS["low"]


def test_low_confidence_lists_the_first_three_key_sentences_with_their_citations() -> None:
    hits = [
        hit(paragraph=3),
        hit("A *bold* claim. Nothing else.", "A *bold* claim.", paragraph=7),
        hit(paragraph=9),
    ]
    embed = answer_embed(answer(confidence="low", hits=[*hits, hit(paragraph=11)]))

    assert embed.description is None  # no whole passage: three key sentences instead
    assert [field.name for field in embed.fields] == [
        f"{n}. {TITLE} · ¶{p}" for n, p in ((1, 3), (2, 7), (3, 9))
    ]
    assert embed.fields[0].value == f"**{rendering.escape(KEY)}**"
    assert embed.fields[1].value == r"**A \*bold\* claim.**"  # escaped, and only the key sentence
    assert limit_problems(embeds=[embed]) == []


def test_only_a_high_answer_or_more_than_three_passages_need_the_more_button() -> None:
    assert not rendering.shows_every_passage(answer(confidence="high"))
    assert rendering.shows_every_passage(answer(confidence="low"))
    assert not rendering.shows_every_passage(answer(confidence="low", hits=[hit()] * 4))
    assert rendering.shows_every_passage(answer(confidence="high", hits=[hit()]))


def test_none_is_polite_and_points_to_about() -> None:
    embed = answer_embed(answer("What is the weather on Mars?", confidence="none"))
    assert embed.title == "What is the weather on Mars?"
    assert embed.description == rendering.NOT_COVERED
    assert "`/about`" in embed.description  # our own markdown is not escaped
    assert not embed.fields
    assert embed.footer.text is None


def test_empty_question_shows_the_notice_not_not_covered() -> None:
    notice = "Please ask a question about the article."
    embed = answer_embed(answer("", confidence="none", notice=notice))
    assert embed.title is None
    assert embed.description == notice


def test_a_shortened_question_the_article_does_not_cover_gets_the_notice_and_not_covered() -> None:
    notice = "Your question was shortened to its first 500 characters."
    embed = answer_embed(answer("What is the weather on Mars? " * 20, confidence="none", notice=notice))
    assert embed.description == f"{notice}\n{rendering.NOT_COVERED}"


def test_shortened_question_notice_goes_in_the_footer() -> None:
    notice = "Your question was shortened to its first 500 characters."
    embed = answer_embed(answer(notice=notice))
    assert embed.footer.text.endswith(notice)


def test_caption_citation() -> None:
    from dataclasses import replace

    caption = hit()
    caption = replace(caption, passage=replace(caption.passage, kind="caption", paragraph=0))
    embed = answer_embed(answer(hits=[caption]))
    assert embed.fields[0].value == f"{TITLE} · photo caption"


def test_a_one_sentence_passage_is_its_own_key_sentence_and_bold() -> None:
    text = "One sentence only."
    assert passage_markdown(text, text) == "**One sentence only.**"


def test_key_not_in_passage_is_ignored() -> None:
    assert passage_markdown("Some text.", "Other text.") == "Some text."


def test_markdown_in_passages_is_escaped() -> None:
    text = "A *starred* claim, an _underlined_ one, `code`, ~~struck~~ and ||spoiler||. Then **this**."
    out = passage_markdown(text, "Then **this**.")
    assert "\\*starred\\*" in out
    assert "\\_underlined\\_" in out
    assert "\\`code\\`" in out
    assert "\\~\\~struck\\~\\~" in out
    assert "\\|\\|spoiler\\|\\|" in out
    assert out.endswith("**Then \\*\\*this\\*\\*.**")


def test_line_start_markdown_is_escaped() -> None:
    out = passage_markdown("# Heading\n> quote\n- item", "")
    assert not any(line.startswith(("#", ">", "-")) for line in out.splitlines())


@pytest.mark.parametrize(
    "mention", ["@everyone", "@here", "<@123456789012345678>", "<@!123456789012345678>", "<@&1234>", "<@1>"]
)
def test_mentions_in_passages_and_questions_are_broken(mention: str) -> None:
    text = f"They wrote {mention} in the memo. Nobody answered."
    embed = answer_embed(
        answer(f"what about {mention}?", hits=[hit(text, f"They wrote {mention} in the memo.")])
    )
    assert limit_problems(embeds=[embed]) == []
    assert "\u200b" in embed.title
    assert "\u200b" in embed.description


def test_long_passage_is_cut_at_a_sentence_boundary() -> None:
    sentences = [f"Sentence number {n} says something about the city's data policy." for n in range(60)]
    text = " ".join(sentences)
    out = passage_markdown(text, sentences[1])
    assert len(out) <= rendering.PASSAGE_CHARS
    assert out.startswith("Sentence number 0 ")
    assert f"**{sentences[1]}**" in out
    assert out.endswith("policy. …")


def test_key_sentence_near_the_end_is_kept() -> None:
    sentences = [f"Sentence number {n} says something about the city's data policy." for n in range(60)]
    text = " ".join(sentences)
    out = passage_markdown(text, sentences[58])
    assert len(out) <= rendering.PASSAGE_CHARS
    assert f"**{sentences[58]}**" in out
    assert out.startswith("… Sentence number")
    assert out.endswith(f"** {sentences[59]}")  # what follows the key comes first, then what precedes


def test_key_sentence_at_the_very_end() -> None:
    sentences = [f"Sentence number {n} says something about the city's data policy." for n in range(60)]
    out = passage_markdown(" ".join(sentences), sentences[-1])
    assert out.startswith("… ")
    assert out.endswith(f"**{sentences[-1]}**")
    assert len(out) <= rendering.PASSAGE_CHARS


def test_one_giant_sentence_is_cut_between_words() -> None:
    text = "word " * 1000 + "end."
    out = passage_markdown(text, "")
    assert len(out) <= rendering.PASSAGE_CHARS
    assert out.endswith("word…")


def test_giant_key_sentence_stays_bold() -> None:
    key = "word " * 1000 + "end."
    out = passage_markdown(f"Before. {key} After.", key)
    assert len(out) <= rendering.PASSAGE_CHARS
    assert out.startswith("… **word word")
    assert out.endswith("word…**")


def test_escaping_counts_against_the_limit() -> None:
    text = "*" * 1400 + ". " + "_" * 1400 + "."
    out = passage_markdown(text, "")
    assert len(out) <= rendering.PASSAGE_CHARS


def test_long_question_is_shortened_and_escaped() -> None:
    question = "why " * 100 + "*really*?"
    embed = answer_embed(answer(question))
    assert len(embed.title) <= rendering.QUESTION_CHARS
    assert embed.title.endswith("…")


def test_more_passages() -> None:
    got = answer(hits=[hit(paragraph=3), hit(paragraph=7), hit(paragraph=9)])
    embeds = more_passages_embeds(got)
    assert [embed.title for embed in embeds] == ["Passage 2 of 3", "Passage 3 of 3"]
    assert [embed.fields[0].value for embed in embeds] == [f"{TITLE} · ¶7", f"{TITLE} · ¶9"]
    assert limit_problems(embeds=embeds) == []


def test_more_passages_of_huge_passages_fit_one_message() -> None:
    huge = hit("x" * 5000 + ". " + "y" * 5000, "", article="T" * 1000)
    embeds = more_passages_embeds(answer("q" * 600, hits=[huge, huge, huge]))
    assert limit_problems(embeds=embeds) == []


def test_about() -> None:
    info = FakeRetriever().info
    embed = rendering.about_embed(info, reindexing=False, bot_name="Article Bot")
    fields = {field.name: field.value for field in embed.fields}
    assert fields["Articles"] == f"• {TITLE}\n• Springfield Opens Its New Aquarium"
    assert "the articles below" in embed.description
    assert fields["Index"].startswith("42 passages, built <t:")
    assert "reindex" not in fields["Index"]
    assert fields["Model"] == "all-MiniLM-L6-v2@abc"
    assert "/ask" in fields["How to ask"]
    assert "@Article Bot" in fields["How to ask"]
    assert "Ask the article" in fields["How to ask"]
    assert limit_problems(embeds=[embed]) == []


def test_about_while_reindexing_and_odd_built_at() -> None:
    from dataclasses import replace

    info = replace(FakeRetriever().info, built_at="yesterday", titles=("A", "B"))
    embed = rendering.about_embed(info, reindexing=True, bot_name="@everyone")
    fields = {field.name: field.value for field in embed.fields}
    assert fields["Articles"] == "• A\n• B"
    assert "yesterday" in fields["Index"]
    assert "reindex is running" in fields["Index"]
    assert limit_problems(embeds=[embed]) == []


def test_help_text() -> None:
    text = rendering.help_text("Bot_Name")
    assert "/ask" in text
    assert "@Bot\\_Name" in text
    assert limit_problems(text) == []


@pytest.mark.parametrize(("retry_after", "shown"), [(0.2, "1 s"), (2.0, "2 s"), (2.1, "3 s")])
def test_slow_down_text(retry_after: float, shown: str) -> None:
    assert rendering.slow_down_text(retry_after).endswith(f"try again in {shown}.")


def test_reindex_done_text_has_the_stats() -> None:
    text = rendering.reindex_done_text(stats())
    for part in ("42 passages", "3 embedded", "117 reused", "1.2 s"):
        assert part in text


def test_reindex_done_text_lists_warnings_within_limits() -> None:
    text = rendering.reindex_done_text(
        stats(warnings=tuple(f"skipped file_{n}.txt: empty" for n in range(500)))
    )
    assert "skipped file\\_0.txt: empty" in text
    assert limit_problems(text) == []
    assert text.endswith("…")


def test_reindex_failed_text() -> None:
    text = rendering.reindex_failed_text("ARTICLES_DIR 'data/articles' does not exist" * 100)
    assert text.startswith("Reindex failed: ARTICLES\\_DIR")
    assert limit_problems(text) == []


def test_body_fixture_is_realistic() -> None:
    assert KEY in BODY
