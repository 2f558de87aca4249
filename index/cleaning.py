"""Turn the text of a pasted web page (or Markdown, or HTML) into a title, captions and paragraphs.

Pure functions, no I/O. The rules are about the shape of text, never about one page's strings:
page furniture (player timecodes, navigation, contact lines, photo credits) is short and is not
written in sentences; an article's paragraphs are.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from index.lexical import STOPWORDS, WORD

if TYPE_CHECKING:
    from lxml.etree import _Element
    from lxml.html import HtmlElement

_SPACES = re.compile(r"[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_INVISIBLE = re.compile(r"[\u200b-\u200d\u2060\ufeff\u00ad]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_BLANK_LINES = re.compile(r"\n\s*\n")
# An address is matched from the start of its token, and its parts can't hold "@": the looser
# r"\S+@\S+\.\w+" backtracks cubically on a long run like "a@a@a@..." (a minute for 5,000 chars).
_URL_OR_EMAIL = re.compile(r"https?://|www\.|(?<!\S)[^\s@]+@[^\s@]+\.\w+")
_CLOSERS = "\"'”’)]»"
_TERMINAL = ".!?…"
_MIN_PROSE_WORDS = 3
_LONG_ENOUGH_WITHOUT_PUNCTUATION = 15
_WRAPPED_SHARE = 0.7  # a hard-wrapped line is at least this share of its block's longest line
_HTML_HINT = re.compile(r"<(p|div|html|body|article|br|span|h[1-6])\b[^>]*>", re.IGNORECASE)
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1")
_SPACER = re.compile(r"^[ \t]*[\u00a0\u2000-\u200a\u202f\u3000][\s\u00a0\u2000-\u200a\u202f\u3000]*$")
_DIVIDER = re.compile(r"^(?:[*_=~#•·-]\s*){3,}$")
_MAX_FOOTER_PARAGRAPHS = 2
_MIN_BODY_PARAGRAPHS = 3
_MD_PREFIX = re.compile(r"^\s{0,3}(>\s?|[-*+]\s+|\d+[.)]\s+)")
# A Unicode noncharacter, reserved for a program's internal use: no page's text holds one.
_CAPTION_MARK = "\ufdd0"
_PARTS = {"list": "item", "table": "row"}  # blocks of trafilatura's XML made of several passages
# "© 2024 Example News. All rights reserved." is written as a sentence, but it is the publisher's
_COPYRIGHT = re.compile(r"(?:©|copyright\s*(?:©|\(c\)|\d{4})|\(c\)\s*\d{4})", re.IGNORECASE)


@dataclass(frozen=True)
class CleanArticle:
    """What ingestion keeps of a page: its headline, photo captions and body paragraphs in order, and
    the prose it set aside as the page's footer (so the caller can say so)."""

    title: str | None
    captions: tuple[str, ...]
    paragraphs: tuple[str, ...]
    footer: tuple[str, ...] = ()


def normalize_text(text: str) -> str:
    """Unify line endings, spaces and Unicode forms; drop control and zero-width characters. A line
    of only non-breaking spaces (a web page's spacer paragraph) becomes a divider, "* * *"."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = unicodedata.normalize("NFC", text)
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub("", text)
    lines = (
        _SPACES.sub(" ", line).strip() or ("* * *" if _SPACER.match(line) else "")
        for line in text.split("\n")
    )
    return "\n".join(lines)


def clean_html(html: str, *, title: str | None = None) -> CleanArticle:
    """The article in a web page: trafilatura finds its title (unless `title` gives it) and body and
    leaves out the page's navigation, banners, related links and footer; figure captions are kept
    apart from the body."""
    # Imported here: ~0.15 s and lxml, paid only by a start that meets an HTML article.
    import trafilatura
    from lxml import etree
    from lxml import html as lxml_html

    page = normalize_text(html).encode()
    try:
        # Bytes with the encoding named: the page is already text, whatever its <meta charset> says.
        tree = lxml_html.document_fromstring(page, parser=lxml_html.HTMLParser(encoding="utf-8"))
    except (etree.ParserError, ValueError):  # nothing but a comment, say: no document at all
        return CleanArticle(title=None, captions=(), paragraphs=())
    _mark_captions(tree)
    document = trafilatura.bare_extraction(tree, with_metadata=True, include_comments=False)
    if document is None:
        return CleanArticle(title=title, captions=(), paragraphs=())
    title = _one_line(title or document.title or "") or None
    captions: list[str] = []
    paragraphs: list[str] = []
    for block in _text_blocks(document.body):
        text = _one_line(block.replace(_CAPTION_MARK, ""))
        if not is_prose(text) or text == title:
            continue
        (captions if block.lstrip().startswith(_CAPTION_MARK) else paragraphs).append(text)
    return CleanArticle(title=title, captions=tuple(captions), paragraphs=tuple(paragraphs))


def _mark_captions(tree: HtmlElement) -> None:
    """Make each <figcaption> a paragraph that starts with `_CAPTION_MARK`: trafilatura drops
    <figure> whole, caption and all, but keeps a paragraph where the article's other paragraphs are
    (and leaves out one in a box of related stories); the mark then tells it from the body."""
    for caption in list(tree.iter("figcaption")):
        for line_break in caption.iter("br"):
            line_break.tail = " " + (line_break.tail or "")
        text = caption.text_content()
        caption.clear(keep_tail=True)
        caption.tag, caption.text = "p", _CAPTION_MARK + text
    for figure in list(tree.iter("figure")):
        figure.tag = "div"


def _text_blocks(body: _Element) -> Iterator[str]:
    """The text of each block of trafilatura's body (its XML: <p>, <list> of <item>, <quote>,
    <table> of <row>...); headings and images are not passages."""
    for line_break in list(body.iter("lb")):
        line_break.tail = " " + (line_break.tail or "")
    for element in body:
        if element.tag in ("head", "graphic"):
            continue
        parts = _PARTS.get(element.tag)
        for block in element.findall(parts) if parts else (element,):
            yield "".join(block.itertext())


def _one_line(text: str) -> str:
    return " ".join(normalize_text(text).split())


def looks_like_html(text: str) -> bool:
    """True when markup tags, not prose, make up the page (HTML pasted as text)."""
    return len(_HTML_HINT.findall(text[:20000])) >= 3


def word_count(text: str) -> int:
    """Words that start with a letter: timecodes, slashes and numbers alone don't count."""
    return sum(word[0].isalpha() for word in WORD.findall(text))


def ends_a_sentence(text: str) -> bool:
    """True when the text ends like a sentence, closing quotes and brackets aside."""
    stripped = text.rstrip().rstrip(_CLOSERS)
    return bool(stripped) and stripped[-1] in _TERMINAL


def is_prose(text: str) -> bool:
    """True for text written in sentences; false for furniture such as '0:00', 'AP', 'Next Up:' or
    '© 2024 Example News. All rights reserved.'"""
    if _COPYRIGHT.match(text):
        return False
    words = word_count(text)
    if words < _MIN_PROSE_WORDS:
        return False
    if _URL_OR_EMAIL.search(text) and words < _LONG_ENOUGH_WITHOUT_PUNCTUATION:
        return False
    return ends_a_sentence(text) or words >= _LONG_ENOUGH_WITHOUT_PUNCTUATION


def _is_wrapped(unit: str, line: str, following: str, width: int) -> bool:
    """True when `following` continues `unit`, whose last line is `line` (hard-wrapped text), rather
    than starting a new unit. `width` is the length of the block's longest line."""
    if not unit or not following or ends_a_sentence(unit):
        return False
    return (
        following[0].islower()
        or unit.endswith((",", ";", "-", "–", "—"))
        # A wrapped line runs nearly to the wrap width; a headline or a contact line above a
        # paragraph written on one line is far shorter than that paragraph.
        or (word_count(unit) >= 8 and len(line) >= _WRAPPED_SHARE * width and not unit.endswith(":"))
    )


def _units(block: str) -> list[str]:
    """The lines of a block, with hard-wrapped lines joined back into one unit."""
    lines = [line for line in block.split("\n") if line]
    width = max((len(line) for line in lines), default=0)
    units: list[str] = []
    for previous, line in zip(["", *lines], lines, strict=False):
        if units and _is_wrapped(units[-1], previous, line, width):
            units[-1] = f"{units[-1]} {line}"
        else:
            units.append(line)
    return units


def _strip_markdown(line: str) -> str:
    line = _MD_IMAGE.sub("", line)
    line = _MD_LINK.sub(r"\1", line)
    line = _MD_PREFIX.sub("", line)
    line = _MD_EMPHASIS.sub(r"\2", line)
    # an image leaves the spaces around it: "![photo](x.jpg) The mayor said" → "The mayor said"
    return _SPACES.sub(" ", line).strip()


def _markdown_title(text: str) -> tuple[str | None, str]:
    """The first Markdown heading (if any) and the text with headings and markup removed."""
    title: str | None = None
    lines: list[str] = []
    for line in text.split("\n"):
        heading = _MD_HEADING.match(line)
        if heading:
            title = title or _strip_markdown(heading.group(1)).strip() or None
            lines.append("")  # a heading ends a paragraph
        else:
            lines.append(_strip_markdown(line))
    return title, "\n".join(lines)


def _reads_like_headline(line: str) -> bool:
    return word_count(line) >= 3 and not line.endswith(":") and not _URL_OR_EMAIL.search(line)


def _headline(blocks: list[list[str]]) -> str | None:
    """The longest one-line block before the first paragraph that reads like a headline; failing
    that (a page pasted without blank lines), the longest such line above the first paragraph."""
    candidates: list[str] = []
    above_first_paragraph: list[str] = []
    for units in blocks:
        if any(is_prose(unit) for unit in units):
            above_first_paragraph = list(itertools.takewhile(lambda unit: not is_prose(unit), units))
            break
        if len(units) == 1 and _reads_like_headline(units[0]):
            candidates.append(units[0])
    if not candidates:
        candidates = [line for line in above_first_paragraph if _reads_like_headline(line)]
    return max(candidates, key=word_count, default=None)


def clean_article(
    text: str, *, markdown: bool = False, html: bool = False, title: str | None = None
) -> CleanArticle:
    """Split a pasted page into headline, captions and paragraphs, dropping the page furniture; HTML
    (`html`, or text that is mostly markup) goes to `clean_html`. A `title` known beforehand (the
    file's front matter) is the headline, and a line that repeats it is not a paragraph.

    A caption is the single sentence-written unit of a block that otherwise holds furniture
    (a photo credit), placed before the first paragraph.
    """
    title = _one_line(title or "") or None  # compared with the page's lines as they are normalised
    if html or looks_like_html(text):
        return clean_html(text, title=title)
    text = normalize_text(text)
    if markdown:
        heading, text = _markdown_title(text)
        title = title or heading
    blocks = [_units(block) for block in _BLANK_LINES.split(text)]
    blocks = [units for units in blocks if units]
    title = title or _headline(blocks)

    captions: list[str] = []
    paragraphs: list[str] = []
    after_divider = 0  # paragraphs since the last divider line
    for units in blocks:
        if all(_DIVIDER.match(unit) for unit in units):
            after_divider = 0
            continue
        prose = [unit for unit in units if is_prose(unit) and unit != title]
        if not paragraphs and len(prose) == 1 and len(units) > 1:
            captions.append(prose[0])
        else:
            paragraphs.extend(prose)
            after_divider += len(prose)
    body, footer = _split_footer(paragraphs, after_divider)
    return CleanArticle(title=title, captions=tuple(captions), paragraphs=body, footer=footer)


def _names(text: str) -> set[str]:
    return {word for word in WORD.findall(text) if word[0].isupper() and word.lower() not in STOPWORDS}


def _split_footer(paragraphs: list[str], after_divider: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Set aside as the page's footer (the publisher's "about us", a newsletter pitch) those of the
    last one or two paragraphs after a divider line that name someone or something, but nothing the
    article names: a real last section after a divider would mention the story's people or places."""
    if (
        not 0 < after_divider <= _MAX_FOOTER_PARAGRAPHS
        or len(paragraphs) - after_divider < _MIN_BODY_PARAGRAPHS
    ):
        return tuple(paragraphs), ()
    body, tail = paragraphs[:-after_divider], paragraphs[-after_divider:]
    body_names = _names(" ".join(body))

    def is_footer(paragraph: str) -> bool:
        # It must name something, and nothing the article names: a paragraph that names nothing
        # gives no evidence either way, so it stays.
        names = _names(paragraph)
        return bool(names) and not names & body_names

    kept = tuple(body) + tuple(paragraph for paragraph in tail if not is_footer(paragraph))
    return kept, tuple(paragraph for paragraph in tail if is_footer(paragraph))
