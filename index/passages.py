"""Passages: the unit the index stores and an answer cites, and the sentence splitter they share."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from index.lexical import WORD

Kind = Literal["body", "caption"]


@dataclass(frozen=True)
class Passage:
    """A run of an article's own words, with where it came from.

    `paragraph` counts body paragraphs from 1, as a reader does; a photo caption has paragraph 0.
    A paragraph too long for the model is split into parts (`part` from 0) that share its number.
    `article` is the article's title, `source` its file name, `url` the page it was taken from (its
    front matter's `source`), so a citation can link to it; None when the file names none.
    """

    text: str
    article: str
    source: str
    paragraph: int
    kind: Kind = "body"
    part: int = 0
    url: str | None = None

    @property
    def citation(self) -> str:
        """How a reader finds it: `Title · ¶3` or `Title · photo caption`."""
        where = "photo caption" if self.kind == "caption" else f"¶{self.paragraph}"
        return f"{self.article} · {where}"


# Words that end in a period without ending a sentence ("Aug. 31", "Mr. Kenney", "Inc. said").
_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sr jr st gov sen rep gen col lt sgt capt cmdr adm supt det insp rev hon pres
    jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thur thurs fri sat sun no
    nos vs etc inc corp ltd co bros dept univ assn ave blvd rd mt ft approx est fig vol pp""".split()
)
# A candidate boundary: end punctuation, optional closing quotes/brackets, whitespace, then what can
# start a sentence (an opening quote or bracket, a capital letter or a digit).
_BOUNDARY = re.compile(r"""([.!?…]+)(["'”’)\]]*)\s+(?=["'“‘(\[]?[A-Z0-9])""")
_LAST_WORD = re.compile(r"(\S+)$")


def _ends_sentence(before: str, punctuation: str) -> bool:
    """False when the period closes an abbreviation, an initial ("J.") or a dotted acronym ("U.S.")."""
    if punctuation != ".":
        return True
    word = _LAST_WORD.search(before)
    if word is None:
        return True
    token = word.group(1).lstrip("\"'“‘([")
    if len(token) == 1 and token.isupper():  # an initial: "J. Smith"
        return False
    if "." in token:  # "U.S", "a.m", "e.g"
        return False
    return token.lower() not in _ABBREVIATIONS


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences, abbreviation-aware ("Aug. 31", "U.S.", "Mr."); linear in the text."""
    text = text.strip()
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        if _ends_sentence(text[max(start, match.start(1) - 64) : match.start(1)], match.group(1)):
            sentences.append(text[start : match.end(2)].strip())
            start = match.end()
    sentences.append(text[start:].strip())
    return [sentence for sentence in sentences if sentence]


_CLAUSE_BREAK = re.compile(r"(?<=[,;:])\s+|\s+[—–]\s+")
MIN_CLAUSE_WORDS = 5


def split_clauses(sentence: str, min_words: int = MIN_CLAUSE_WORDS) -> list[str]:
    """Cut a sentence at commas, semicolons, colons and dashes into clauses of at least `min_words`
    words (a short piece joins its neighbour). One clause means the sentence has no useful cut."""
    clauses: list[str] = []
    for piece in (part.strip() for part in _CLAUSE_BREAK.split(sentence)):
        if not piece:
            continue
        if clauses and len(clauses[-1].split()) < min_words:
            clauses[-1] = f"{clauses[-1]} {piece}"
        else:
            clauses.append(piece)
    if len(clauses) > 1 and len(clauses[-1].split()) < min_words:
        last = clauses.pop()
        clauses[-1] = f"{clauses[-1]} {last}"
    return clauses


def _pack(units: list[str], sizes: list[int], max_tokens: int) -> list[str]:
    """Greedily join consecutive units while their summed size fits."""
    pieces: list[str] = []
    current: list[str] = []
    used = 0
    for unit, size in zip(units, sizes, strict=True):
        if current and used + size > max_tokens:
            pieces.append(" ".join(current))
            current, used = [], 0
        current.append(unit)
        used += size
    if current:
        pieces.append(" ".join(current))
    return pieces


def fit_to_window(text: str, max_tokens: int, count_tokens: Callable[[str], int]) -> list[str]:
    """Split `text` at sentence boundaries into pieces of at most about `max_tokens` model tokens.

    Nothing is dropped: a single sentence longer than the window is cut between words. Sizes are
    summed per sentence (and per word inside an over-long one), so the cost stays linear.
    """
    if count_tokens(text) <= max_tokens:
        return [text]
    units: list[str] = []
    sizes: list[int] = []
    for sentence in split_sentences(text):
        size = count_tokens(sentence)
        if size <= max_tokens:
            units.append(sentence)
            sizes.append(size)
            continue
        # A "word" longer than the window (a pasted URL, base64) is cut into character runs, which
        # the tokenizer can never turn into more tokens than characters.
        words = [
            chunk
            for word in sentence.split()
            for chunk in (
                [word]
                if len(word) <= max_tokens
                else [word[i : i + max_tokens] for i in range(0, len(word), max_tokens)]
            )
        ]
        word_sizes = [max(1, count_tokens(word)) for word in words]
        for part in _pack(words, word_sizes, max_tokens):
            units.append(part)
            sizes.append(count_tokens(part))
    return _pack(units, sizes, max_tokens)


def count_words(text: str) -> int:
    """A model-free token count (words), for tests and the fake embedder."""
    return len(WORD.findall(text))
