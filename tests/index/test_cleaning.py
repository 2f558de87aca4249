"""Cleaning pasted pages of any shape into a title, captions and paragraphs (pure functions)."""

from __future__ import annotations

import re
import textwrap

from index.cleaning import clean_article, is_prose, normalize_text
from index.passages import count_words, fit_to_window
from tests.index import web_pages

FIRST = (
    "The state legislature passed a sweeping bill on Thursday that would overhaul how public schools "
    "are funded, sending the measure to the governor after months of debate among lawmakers and "
    "advocates, who said the old formula left poor districts behind."
)
SECOND = (
    "Supporters of the bill said it would send more money to rural districts and to schools with many "
    "students learning English, while critics argued it did not go far enough to fix long-standing gaps."
)
THIRD = "The governor is expected to sign the measure next week."
TITLE = "Lawmakers Pass Sweeping Overhaul Of Public School Funding Formula"  # 8 words, no full stop


def words(text: str) -> list[str]:
    return text.split()


def test_markdown_heading_is_the_title_and_markup_is_removed():
    page = (
        f"# {TITLE}\n\n"
        "![a classroom](https://example.com/class.jpg)\n\n"
        f"{FIRST.replace('public schools', '**public schools**')}\n\n"
        "## Reaction\n\n"
        f"{SECOND.replace('rural districts', '[rural districts](https://example.com/rural)')}\n\n"
        f"- {THIRD}\n"
    )

    clean = clean_article(page, markdown=True)

    assert clean.title == TITLE
    assert clean.paragraphs == (FIRST, SECOND, THIRD)


def test_html_pasted_as_text_keeps_the_prose_and_drops_scripts_and_styles():
    page = (
        "<html><head><title>ignored</title><style>p { color: red }</style></head><body>\n"
        f"<h1>{TITLE}</h1>\n"
        f"<p>{FIRST}</p>\n<script>var tracking = 'A long script line that is not prose at all';</script>\n"
        f"<p>{SECOND.replace(' and ', ' &amp; ', 1)}</p>\n<p>{THIRD}</p>\n</body></html>"
    )

    clean = clean_article(page)

    assert clean.title == TITLE
    assert clean.paragraphs == (FIRST, SECOND.replace(" and ", " & ", 1), THIRD)


def test_a_saved_news_page_keeps_its_title_captions_and_paragraphs_and_drops_the_page_around_them():
    clean = clean_article(web_pages.NEWS_PAGE, html=True)

    assert clean.title == web_pages.TITLE
    # each figure caption is a caption, wherever it stands; the body starts at the first paragraph
    assert clean.captions == (web_pages.CAPTION, web_pages.LATER_CAPTION)
    assert clean.paragraphs == web_pages.PARAGRAPHS
    for furniture in web_pages.FURNITURE:
        assert not any(furniture in text for text in (*clean.captions, *clean.paragraphs)), furniture


def test_a_news_page_pasted_into_a_text_file_cleans_like_the_saved_page():
    assert clean_article(web_pages.NEWS_PAGE) == clean_article(web_pages.NEWS_PAGE, html=True)


def test_crlf_line_endings_clean_like_lf():
    page = f"{TITLE}\n\n{FIRST}\n\n{SECOND}\n\n{THIRD}\n"

    assert clean_article(page.replace("\n", "\r\n")) == clean_article(page)
    assert clean_article(page).paragraphs == (FIRST, SECOND, THIRD)


def test_one_paragraph_per_line_without_blank_lines():
    page = f"{TITLE}\n{FIRST}\n{SECOND}\n{THIRD}\n"

    clean = clean_article(page)

    assert clean.paragraphs == (FIRST, SECOND, THIRD)
    assert clean.title == TITLE


def test_page_furniture_without_blank_lines_stays_out_of_the_paragraphs():
    page = (
        "Play Live Radio\nNext Up:\n0:00\n"
        "Contact 90.5 WESA with a story idea or news tip: news@wesa.fm\n"
        f"{TITLE}\n{FIRST}\n{SECOND}\n"
    )

    clean = clean_article(page)

    assert clean.paragraphs == (FIRST, SECOND)
    assert clean.title == TITLE


def test_hard_wrapped_paragraphs_are_joined_back():
    page = f"{TITLE}\n\n{textwrap.fill(FIRST, 70)}\n\n{textwrap.fill(SECOND, 70)}\n\n{THIRD}\n"
    assert max(len(line) for line in page.splitlines()) <= 70

    clean = clean_article(page)

    assert clean.paragraphs == (FIRST, SECOND, THIRD)


def test_hard_wrapped_paragraphs_without_blank_lines_between_them():
    page = f"{textwrap.fill(FIRST, 72)}\n{textwrap.fill(SECOND, 72)}\n{textwrap.fill(THIRD, 72)}\n"

    assert clean_article(page).paragraphs == (FIRST, SECOND, THIRD)


def test_normalize_text_drops_invisible_and_control_characters():
    raw = "Caf\u0065\u0301\u200b sign\u00ad\x07ed\u00a0 the\tbill.\r\nNext\rline"

    assert normalize_text(raw) == "Café signed the bill.\nNext\nline"


def test_prose_versus_furniture():
    for furniture in ["0:00", "0:00 0:00", "Play Live Radio", "Next Up:", "/", "AP", "RIchard Drew"]:
        assert not is_prose(furniture), furniture
    assert not is_prose("Contact 90.5 WESA with a story idea or news tip: news@wesa.fm")
    for notice in [
        "© 2024 Example News. All rights reserved.",
        "Copyright 2024 NPR. To see more, visit npr.org.",
    ]:
        assert not is_prose(notice), notice
    assert is_prose("The city said it has not yet received a response.")
    assert is_prose("Copyright law protects the photographs, the museum said.")


# --- Splitting to the model's window -------------------------------------------------------------


def test_a_short_paragraph_is_one_piece():
    assert fit_to_window(THIRD, 40, count_words) == [THIRD]


def test_a_long_paragraph_splits_at_sentence_boundaries_and_loses_nothing():
    paragraph = " ".join([FIRST, SECOND, THIRD, "It expires Aug. 31 under U.S. law.", FIRST])
    assert count_words(paragraph) > 40

    pieces = fit_to_window(paragraph, 40, count_words)

    assert len(pieces) > 1
    assert all(count_words(piece) <= 40 for piece in pieces)
    assert words(" ".join(pieces)) == words(paragraph)
    # every cut is at the end of a sentence ("Aug." and "U.S." are not ends)
    assert all(piece.endswith(".") for piece in pieces)
    assert not any(piece.startswith(("31", "law")) for piece in pieces)


def test_one_giant_sentence_without_punctuation_is_cut_between_words():
    sentence = " ".join(f"word{number}" for number in range(1000))

    pieces = fit_to_window(sentence, 40, count_words)

    assert all(count_words(piece) <= 40 for piece in pieces)
    assert words(" ".join(pieces)) == words(sentence)


def characters(text: str) -> int:
    """A tokenizer that, like word-pieces on an unknown string, can give a token per character."""
    return len(re.sub(r"\s", "", text))


def test_a_single_word_of_5000_characters_is_cut_into_runs_and_nothing_is_lost():
    giant = "x" * 2500 + "y" * 2500
    paragraph = f"The file contained {giant} and nothing else."

    pieces = fit_to_window(paragraph, 40, characters)

    assert all(characters(piece) <= 40 for piece in pieces)
    assert "".join(" ".join(pieces).split()) == "".join(paragraph.split())


def test_a_long_run_of_mentions_without_spaces_is_cleaned_like_any_word():
    # Regression: the e-mail pattern used to backtrack cubically on a long run of "@"s (minutes).
    mentions = "<@123456789012345678>" * 400
    page = f"{TITLE}\n\n{FIRST}\n\nPeople tagged {mentions} in the thread about the bill on Friday.\n"

    clean = clean_article(page)

    assert clean.title == TITLE
    assert clean.paragraphs == (FIRST, f"People tagged {mentions} in the thread about the bill on Friday.")


BODY = [
    "Mayor Ana Ruiz said on Monday that the city of Riverton will open three new libraries.",
    "The libraries will be built in Riverton's east side, Ruiz said, and open next spring.",
    "Council member Tom Bale said the plan was overdue and that residents had waited for years.",
]
ABOUT_US = "Daily Wire Service is a cooperative of newspapers that has reported the news since 1901."


def _page(*blocks: str) -> str:
    return "\n\n".join(blocks) + "\n"


def test_a_publisher_blurb_after_a_spacer_line_is_the_footer_not_a_paragraph():
    article = clean_article(_page("Riverton To Open Three Libraries", *BODY, "\u00a0", ABOUT_US))

    assert list(article.paragraphs) == BODY
    assert article.footer == (ABOUT_US,)


def test_a_last_section_after_a_divider_that_names_the_story_s_people_is_kept():
    last = "Bale said he would ask the council to fund a fourth library in Riverton next year."
    article = clean_article(_page("Riverton To Open Three Libraries", *BODY, "* * *", last))

    assert list(article.paragraphs) == [*BODY, last]
    assert article.footer == ()


def test_without_a_divider_or_with_a_long_tail_nothing_is_set_aside():
    no_divider = clean_article(_page("Riverton To Open Three Libraries", *BODY, ABOUT_US))
    long_tail = clean_article(_page("Riverton To Open Three Libraries", BODY[0], "---", *BODY[1:], ABOUT_US))

    assert list(no_divider.paragraphs) == [*BODY, ABOUT_US]
    assert list(long_tail.paragraphs) == [*BODY, ABOUT_US]
    assert no_divider.footer == long_tail.footer == ()


def test_a_paragraph_after_the_footer_is_judged_on_its_own():
    names_nothing = "The council also said it would hire more staff for the reading rooms."
    names_the_story = "Ruiz said the first library would open in Riverton in March."

    for last in (names_nothing, names_the_story):
        article = clean_article(_page("Riverton To Open Three Libraries", *BODY, "\u00a0", ABOUT_US, last))

        assert list(article.paragraphs) == [*BODY, last]
        assert article.footer == (ABOUT_US,)
