"""Aliases learned from the articles themselves, so a question that names a thing one way finds
a passage that names it another way:

- acronyms: "U.S. Immigration and Customs Enforcement" makes "ICE" mean "Immigration and Customs
  Enforcement" (and back);
- descriptions: "city solicitor Marcel Pratt", "Democrat Jim Kenney", "Juntos, an immigrant advocacy
  group," tell who a name is, so a later "Pratt said ..." is also about the city's lawyer.

`expand_aliases` appends what a text leaves implicit; it is used on the text the model reads, never
on the text a user is shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from index.lexical import STOPWORDS

_ACRONYM = re.compile(r"\b[A-Z]{2,6}\b")
_CAPITALISED = re.compile(r"[A-Z][\w'’-]*")
_PHRASE = re.compile(r"[A-Z][\w'’-]*(?:\s+(?:(?:and|of|the|for|on|in|de|&)\s+)?[A-Z][\w'’-]*)+")
_NAME = r"[A-Z][a-z]+(?:\s+[A-Z]\.)?(?:\s+[A-Z][a-z'’-]+)+"
# "…, city solicitor Marcel Pratt said": lowercase role words right after a boundary, then a name
_ROLE_BEFORE = re.compile(r"(?:^|[,;:(—–]\s*|\b(?:the|a|an)\s+)((?:[a-z][a-z-]+\s+){1,3})(" + _NAME + r")\b")
# "Democrat Jim Kenney", "Mayor Jim Kenney": one capitalised title word right before a full name
_TITLE_BEFORE = re.compile(r"(?<![\w.])([A-Z][a-z]+)\s+(" + _NAME + r")\b")
# "Juntos, an immigrant advocacy group, said": a name, then an appositive between commas
_APPOSITIVE = re.compile(r"\b([A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+)*),\s+((?:a|an|the)\s+[^,.;]{3,60}),")
_NOT_TITLES = frozenset({"The", "In", "As", "With", "A", "An", "But", "And", "On", "At", "For", "When", "If"})


@dataclass(frozen=True)
class Aliases:
    """What the articles taught us about their names: acronym → phrase, name → description."""

    acronyms: dict[str, str] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)


def _expansion(acronym: str, words: list[str]) -> str | None:
    """The run of `words` starting at a capitalised word whose capitals spell `acronym`."""
    for start in range(len(words)):
        run = words[start:]
        if not _CAPITALISED.fullmatch(run[0]):
            continue
        if "".join(word[0] for word in run if _CAPITALISED.fullmatch(word)) == acronym:
            return " ".join(run)
    return None


def learn_acronyms(texts: Iterable[str]) -> dict[str, str]:
    """Map each acronym used in `texts` to a phrase in `texts` whose capitals spell it."""
    corpus = "\n".join(texts)
    acronyms = set(_ACRONYM.findall(corpus))
    found: dict[str, str] = {}
    for match in _PHRASE.finditer(corpus):
        words = match.group(0).split()
        for acronym in sorted(acronyms - found.keys()):
            if len(acronym) > len(words):
                continue
            # every end position, so "U.S. Immigration and Customs Enforcement" yields ICE
            for end in range(len(words), 1, -1):
                expansion = _expansion(acronym, words[:end])
                if expansion and expansion != acronym:
                    found[acronym] = expansion
                    break
    return found


def learn_descriptions(texts: Iterable[str]) -> dict[str, str]:
    """Map each name the text describes (role before it, title before it, appositive after it) to
    the phrase that describes it; the first description of a name wins."""
    found: dict[str, str] = {}
    for text in texts:
        for match in _ROLE_BEFORE.finditer(text):
            role = [word for word in match.group(1).split() if word not in STOPWORDS]
            if role:
                found.setdefault(match.group(2), f"{' '.join(role)} {match.group(2)}")
        for match in _TITLE_BEFORE.finditer(text):
            if match.group(1) not in _NOT_TITLES:
                found.setdefault(match.group(2), f"{match.group(1)} {match.group(2)}")
        for match in _APPOSITIVE.finditer(text):
            found.setdefault(match.group(1), f"{match.group(1)}, {match.group(2)}")
    return found


def learn_aliases(titles: Iterable[str], prose: Iterable[str]) -> Aliases:
    """Acronyms from headlines and prose; descriptions from prose only (a Title-Cased headline
    makes every word look like a name)."""
    prose = list(prose)
    return Aliases(acronyms=learn_acronyms([*titles, *prose]), descriptions=learn_descriptions(prose))


def _mentions(text: str, word: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text) is not None


def expand_acronyms(text: str, acronyms: Mapping[str, str], *, spell_out: bool = True) -> str:
    """Append, once each, the acronyms of phrases `text` spells out, and (with `spell_out`) the
    phrases of acronyms it uses. Word counting (BM25) wants only the first: one term per name."""
    additions: list[str] = []
    for acronym, phrase in acronyms.items():
        has_acronym = _mentions(text, acronym)
        has_phrase = phrase.lower() in text.lower()
        if has_acronym and not has_phrase and spell_out:
            additions.append(phrase)
        elif has_phrase and not has_acronym:
            additions.append(acronym)
    return f"{text} ({'; '.join(additions)})" if additions else text


def expand_aliases(text: str, aliases: Aliases) -> str:
    """`text` with its acronyms spelled out and the descriptions of the names it mentions (by
    surname or whole) appended, unless the text already carries them."""
    additions = [
        description
        for name, description in aliases.descriptions.items()
        if _mentions(text, name.split()[-1]) and description not in text
    ]
    text = expand_acronyms(text, aliases.acronyms)
    return f"{text} ({'; '.join(additions)})" if additions else text
