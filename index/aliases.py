"""Acronyms learned from the articles themselves: "U.S. Immigration and Customs Enforcement" makes
"ICE" mean "Immigration and Customs Enforcement", so a question with either form finds text with the
other.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

_ACRONYM = re.compile(r"\b[A-Z]{2,6}\b")
_CAPITALISED = re.compile(r"[A-Z][\w'’-]*")
_JOINERS = frozenset({"and", "of", "the", "for", "on", "in", "de", "&"})


def _expansion(acronym: str, words: list[str]) -> str | None:
    """The shortest run of `words` ending at a capitalised word whose capitals spell `acronym`."""
    for start in range(len(words)):
        run = words[start:]
        if not _CAPITALISED.fullmatch(run[0]):
            continue
        capitals = [word for word in run if _CAPITALISED.fullmatch(word)]
        if "".join(word[0] for word in capitals) == acronym:
            return " ".join(run)
    return None


def learn_acronyms(texts: Iterable[str]) -> dict[str, str]:
    """Map each acronym used in `texts` to a phrase in `texts` whose capitals spell it."""
    corpus = "\n".join(texts)
    acronyms = set(_ACRONYM.findall(corpus))
    found: dict[str, str] = {}
    # Candidate phrases: runs of capitalised words, joined by small words ("and", "of").
    phrase = re.compile(r"[A-Z][\w'’-]*(?:\s+(?:(?:and|of|the|for|on|in|de|&)\s+)?[A-Z][\w'’-]*)+")
    for match in phrase.finditer(corpus):
        words = match.group(0).split()
        for acronym in acronyms - found.keys():
            if len(acronym) > len(words):
                continue
            # Try every end position so "U.S. Immigration and Customs Enforcement" yields ICE.
            for end in range(len(words), 1, -1):
                expansion = _expansion(acronym, words[:end])
                if expansion and expansion != acronym and expansion.split()[-1] not in _JOINERS:
                    found[acronym] = expansion
                    break
    return found


def expand_acronyms(text: str, acronyms: Mapping[str, str]) -> str:
    """Spell out, once each, the acronyms `text` uses and the acronyms of phrases it spells out."""
    additions: list[str] = []
    for acronym, phrase in acronyms.items():
        has_acronym = re.search(rf"\b{acronym}\b", text) is not None
        has_phrase = phrase.lower() in text.lower()
        if has_acronym and not has_phrase:
            additions.append(phrase)
        elif has_phrase and not has_acronym:
            additions.append(acronym)
    return f"{text} ({'; '.join(additions)})" if additions else text
