"""Aliases learned from the articles themselves, so a question that names a thing one way finds
a passage that names it another way:

- acronyms: "U.S. Immigration and Customs Enforcement" makes "ICE" mean "Immigration and Customs
  Enforcement" (and back);
- descriptions: "city solicitor Marcel Pratt", "Democrat Jim Kenney", "Juntos, an immigrant advocacy
  group," tell who a name is, so a later "Pratt said ..." is also about the city's lawyer;
- roles that speak: a news lede often names a speaker by role only ("…, the mayor announced Friday.")
  and gives the name in the next paragraph ("…," Democrat Jim Kenney said.). A role that speaks, and
  that no description already ties to a name, is tied to the one person without a role of their own
  who first speaks in that paragraph or the next, so "Kenney said …" is also about the mayor.

`expand_aliases` appends what a text leaves implicit; it is used on the text the model reads, never
on the text a user is shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from index.articles import Article
from index.lexical import STOPWORDS

_ACRONYM = re.compile(r"\b[A-Z]{2,6}\b")
_CAPITALISED = re.compile(r"[A-Z][\w'’-]*")
_PHRASE = re.compile(r"[A-Z][\w'’-]*(?:\s+(?:(?:and|of|the|for|on|in|de|&)\s+)?[A-Z][\w'’-]*)+")
_NAME = r"[A-Z][a-z]+(?:\s+[A-Z]\.)?(?:\s+[A-Z][a-z'’-]+)+"
# "…, city solicitor Marcel Pratt said": lowercase role words right after a boundary, then a name
_ROLE_BEFORE = re.compile(
    r"(?:^|[,;:(—–][\"”’']?\s*|\b(?:the|a|an)\s+)((?:[a-z][a-z-]+\s+){1,3})(" + _NAME + r")\b"
)
# "Democrat Jim Kenney", "Mayor Jim Kenney": one capitalised title word right before a full name
_TITLE_BEFORE = re.compile(r"(?<![\w.])([A-Z][a-z]+\.?)\s+(" + _NAME + r")\b")
# "Juntos, an immigrant advocacy group, said": a name, then an appositive between commas
_APPOSITIVE = re.compile(r"\b([A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+){0,4}),\s+((?:a|an|the)\s+[^,.;]{3,60}),")
_SPEECH = r"(?:said|says|announced|wrote|told|added|stated|explained|noted|argued|declared)"
_SPEECH_FIRST = r"(?:said|says|added)"  # '"…," said the mayor' (not "told the newspaper": the listener)
# "the mayor said", "said the mayor", "the mayor announced Friday": one to three lowercase words
_ROLE_SPEAKS = re.compile(
    r"\b[Tt]he\s+((?:[a-z][a-z-]+\s+){0,2}[a-z][a-z-]+)\s+" + _SPEECH + r"\b"
    r"|\b" + _SPEECH_FIRST + r"\s+the\s+((?:[a-z][a-z-]+\s+){0,2}[a-z][a-z-]+)\b"
)
# "Kenney said", "Democrat Jim Kenney said", "said Jim Kenney": a capitalised name speaking (a name
# of at most five words: an unbounded run of capitals would make the search quadratic)
_NAME_SPEAKS = re.compile(
    r"\b([A-Z][a-z'’-]+(?:\s+[A-Z]\.)?(?:\s+[A-Z][a-z'’-]+){0,4})\s+" + _SPEECH + r"\b"
    r"|\b" + _SPEECH_FIRST + r"\s+([A-Z][a-z'’-]+(?:\s+[A-Z]\.)?(?:\s+[A-Z][a-z'’-]+){1,4})"
)
# Speakers that are not people ("the report said", "the police said"): never a person's role
_NOT_PEOPLE = frozenset(
    """report statement lawsuit suit complaint filing ruling order letter document study survey poll
    data police department agency office city state county government administration company firm
    court newspaper paper magazine network station website group organization committee board
    council team campaign union school university college hospital memo release analysis review
    investigation audit plan bill law proposal""".split()
)
# Capitalised words before a name that tell a party or a courtesy, not a role ("Democrat Jim Kenney")
_NOT_ROLES = frozenset(
    {"Democrat", "Democratic", "Republican", "Independent", "Libertarian", "Green", "Mr", "Mrs", "Ms", "Miss"}
)
_POSSESSIVE = re.compile(r"['’]s$", re.IGNORECASE)
_NOT_TITLES = frozenset({"The", "In", "As", "With", "A", "An", "But", "And", "On", "At", "For", "When", "If"})


@dataclass(frozen=True)
class Aliases:
    """What the articles taught us about their names: acronym → phrase, name → description, and
    name → the role it speaks as where no passage says so."""

    acronyms: dict[str, str] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)

    # Lookups made once: a build expands every unit of every article, and a library of thousands of
    # articles has thousands of names (scanning them all per unit made a rebuild take minutes).
    @cached_property
    def roles_by_article(self) -> dict[str, dict[str, str]]:
        """Article (file name) → name → role, in the order `roles` lists them."""
        found: dict[str, dict[str, str]] = {}
        for key, role in self.roles.items():
            article, _, name = key.partition("\t")
            found.setdefault(article, {})[name] = role
        return found

    @cached_property
    def described_surnames(self) -> tuple[dict[str, list[tuple[int, str]]], list[tuple[int, str, str]]]:
        """The described names by surname, each with its place in `descriptions`: those whose surname
        is a plain word (a set lookup finds them), and the others (a search must)."""
        plain: dict[str, list[tuple[int, str]]] = {}
        other: list[tuple[int, str, str]] = []
        for place, name in enumerate(self.descriptions):
            surname = name.split()[-1]
            if _WORD_RUN.fullmatch(surname):
                plain.setdefault(surname, []).append((place, name))
            else:
                other.append((place, name, surname))
        return plain, other

    @classmethod
    def from_manifest(cls, tables: Mapping[str, Mapping[str, str]]) -> Aliases:
        """The aliases a manifest recorded; kinds this version doesn't use (an older index's
        "names") are left out."""
        return cls(
            **{kind: dict(table) for kind, table in tables.items() if kind in cls.__dataclass_fields__}
        )


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


def _content_words(phrase: str) -> list[str]:
    return [word for word in phrase.lower().split() if word not in STOPWORDS]


def _has_role(description: str, name: str) -> bool:
    """Whether a description says what someone is ("city solicitor Marcel Pratt", "Police
    Commissioner Ann Lee", "Sen. Bob Casey"), not only their party ("Democrat Jim Kenney")."""
    words = [word.strip(".") for word in re.split(r"[\s,]+", description.replace(name, " ")) if word]
    return any(
        (word.islower() and word not in STOPWORDS) or (word[:1].isupper() and word not in _NOT_ROLES)
        for word in words
    )


def learn_roles(paragraphs: Sequence[str], descriptions: Mapping[str, str]) -> dict[str, str]:
    """Name → the role it speaks as (see the module docstring), for one article's paragraphs in
    reading order, with the descriptions learned from that article. A role must speak at least
    twice (a recurring speaker), must not be a thing that speaks ("the report said", see
    _NOT_PEOPLE), and exactly one candidate name may qualify; otherwise nothing is learned."""
    described = {word for description in descriptions.values() for word in _content_words(description)}
    role_speaks: dict[str, list[int]] = {}
    name_speaks: dict[str, int] = {}  # surname → first paragraph where that person speaks
    full_names: dict[str, str] = {name.split()[-1]: name for name in descriptions}
    for number, text in enumerate(paragraphs):
        for match in _ROLE_SPEAKS.finditer(text):
            role = " ".join(_content_words(match.group(1) or match.group(2)))
            if role and role.split()[-1] not in _NOT_PEOPLE and not set(role.split()) & described:
                role_speaks.setdefault(role, []).append(number)
        for match in _NAME_SPEAKS.finditer(text):
            words = (match.group(1) or match.group(2)).split()
            while words and words[0].lower() in STOPWORDS:
                words.pop(0)  # "He said", "The Director said"
            if not words:
                continue
            full_names.setdefault(words[-1], " ".join(words))
            name_speaks.setdefault(words[-1], number)
    found: dict[str, str] = {}
    for role, places in role_speaks.items():
        first = places[0]
        candidates = [
            full_names[surname]
            for surname, place in name_speaks.items()
            if first <= place <= first + 1
            and len(full_names[surname].split()) > 1
            and not _has_role(descriptions.get(full_names[surname], ""), full_names[surname])
        ]
        if len(places) > 1 and len(candidates) == 1:
            found[candidates[0]] = role
    return found


def _starts_sentence(text: str, start: int) -> bool:
    """Whether the word at `start` begins a sentence or a quotation (so its capital says nothing)."""
    end = start
    while end > 0 and text[end - 1].isspace():
        end -= 1
    if end == 0:
        return True
    before = end
    while before > 0 and text[before - 1] in "\"”’')]":
        before -= 1
    if before > 0 and text[before - 1] in ".!?":
        return True
    return end == start and text[start - 1] in '"“‘([' and (start == 1 or text[start - 2].isspace())


def role_key(source: str, name: str) -> str:
    """How `Aliases.roles` keys a name: roles are learned per article and apply to its passages only."""
    return f"{source}\t{name}"


def _roles_of(aliases: Aliases, source: str | None) -> dict[str, str]:
    """Name → role, for the article `source`."""
    return aliases.roles_by_article.get(source, {}) if source is not None else {}


def learn_aliases(articles: Sequence[Article]) -> Aliases:
    """Acronyms from headlines and prose; descriptions from prose only (a Title-Cased headline
    makes every word look like a name), then the roles that speak, article by article."""
    prose = [text for article in articles for text in (*article.captions, *article.paragraphs)]
    descriptions: dict[str, str] = {}
    roles: dict[str, str] = {}
    for article in articles:
        own = learn_descriptions([*article.captions, *article.paragraphs])
        for name, description in own.items():
            descriptions.setdefault(name, description)  # the first article's wins, as within one
        for name, role in learn_roles(article.paragraphs, own).items():
            roles[role_key(article.source, name)] = role
    titles = [article.title for article in articles]
    return Aliases(
        acronyms=learn_acronyms([*titles, *prose]),
        descriptions=descriptions,
        roles=roles,
    )


@dataclass(frozen=True)
class LibraryAliases:
    """Each article's own aliases: learned from that article alone and applied to it alone, so
    adding an article never changes how another one reads (nor re-embeds it), and one article's
    "ICE" can't spell out another's."""

    by_article: dict[str, Aliases] = field(default_factory=dict)
    shared: Aliases = field(default_factory=Aliases)  # an index saved before aliases were per article

    def of(self, source: str | None) -> Aliases:
        """The aliases of the article `source`."""
        return self.by_article.get(source, self.shared) if source is not None else self.shared

    def to_manifest(self) -> dict[str, dict[str, str]]:
        """The tables a manifest records: every key is `role_key(article, name)`."""
        tables: dict[str, dict[str, str]] = {"acronyms": {}, "descriptions": {}, "roles": {}}
        for source, aliases in self.by_article.items():
            for kind in ("acronyms", "descriptions"):
                for name, value in getattr(aliases, kind).items():
                    tables[kind][role_key(source, name)] = value
            tables["roles"].update(aliases.roles)  # keyed by article already
        return tables

    @classmethod
    def from_manifest(cls, tables: Mapping[str, Mapping[str, str]]) -> LibraryAliases:
        """The aliases a manifest recorded. An older index's acronyms and descriptions, keyed by
        name alone, were learned from every article together: they go on serving every article."""
        global_kinds = [
            kind
            for kind in ("acronyms", "descriptions")
            if any("\t" not in key for key in tables.get(kind, {}))
        ]
        if global_kinds:
            return cls(shared=Aliases.from_manifest(tables))
        found: dict[str, dict[str, dict[str, str]]] = {}
        for kind in ("acronyms", "descriptions", "roles"):
            for key, value in tables.get(kind, {}).items():
                source, _, name = key.partition("\t")
                table = found.setdefault(source, {"acronyms": {}, "descriptions": {}, "roles": {}})[kind]
                table[key if kind == "roles" else name] = value
        return cls(by_article={source: Aliases(**kinds) for source, kinds in found.items()})


def learn_library_aliases(articles: Sequence[Article]) -> LibraryAliases:
    """Each article's aliases, learned from it alone (`learn_aliases`)."""
    return LibraryAliases(by_article={article.source: learn_aliases([article]) for article in articles})


def _mentions(text: str, word: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text) is not None


# A run of word characters and hyphens: `_mentions` finds a word made of them only as a whole run.
_WORD_RUN = re.compile(r"[\w-]+")


class _Mentions:
    """`_mentions` for one text and many words: a word of word characters and hyphens is looked up
    in the set of the text's runs (what `_mentions` finds, without a search per word)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.runs = set(_WORD_RUN.findall(text))

    def __call__(self, word: str) -> bool:
        if _WORD_RUN.fullmatch(word):
            return word in self.runs
        return _mentions(self.text, word)


def expand_acronyms(text: str, acronyms: Mapping[str, str], *, spell_out: bool = True) -> str:
    """Append, once each, the acronyms of phrases `text` spells out, and (with `spell_out`) the
    phrases of acronyms it uses. Word counting (BM25) wants only the first: one term per name."""
    additions: list[str] = []
    mentions = _Mentions(text)
    lowered = text.lower()
    for acronym, phrase in acronyms.items():
        has_acronym = mentions(acronym)
        has_phrase = phrase.lower() in lowered
        if has_acronym and not has_phrase and spell_out:
            additions.append(phrase)
        elif has_phrase and not has_acronym:
            additions.append(acronym)
    return f"{text} ({'; '.join(additions)})" if additions else text


def _described(text: str, aliases: Aliases, source: str | None) -> list[str]:
    """Who each name `text` mentions (by surname or whole) is, as far as the articles tell (roles:
    as far as the article `source` tells)."""
    roles = _roles_of(aliases, source)
    mentions = _Mentions(text)
    plain, other = aliases.described_surnames
    described = [entry for run in mentions.runs for entry in plain.get(run, ())]
    described += [(place, name) for place, name, surname in other if _mentions(text, surname)]
    # in the order of {**descriptions, **roles}: the described names, then the others with a role
    named = [name for _, name in sorted(described)]
    named += [name for name in roles if name not in aliases.descriptions and mentions(name.split()[-1])]
    additions = []
    for name in named:
        description = aliases.descriptions.get(name, name)
        if name in roles:
            description = f"{description}, the {roles[name]}"
        if description not in text:
            additions.append(description)
    return additions


def expand_aliases(text: str, aliases: Aliases, source: str | None = None) -> str:
    """`text` (of the article `source`) with its acronyms spelled out and the descriptions of the
    names it mentions appended, unless the text already carries them."""
    additions = _described(text, aliases, source)
    text = expand_acronyms(text, aliases.acronyms)
    return f"{text} ({'; '.join(additions)})" if additions else text


def expand_for_counting(text: str, aliases: Aliases, source: str | None = None) -> str:
    """`text` (of the article `source`) as word counting (BM25) should see it: a spelled-out name
    also counts as its acronym (see `expand_acronyms`), and a name also counts as the role it
    speaks as. Descriptions are left out: each is already in the text of the passage that
    introduces the name, and copying it into every later mention would make them all compete with
    that passage."""
    text = expand_acronyms(text, aliases.acronyms, spell_out=False)
    mentions = _Mentions(text)
    roles = [f"the {role}" for name, role in _roles_of(aliases, source).items() if mentions(name.split()[-1])]
    return f"{text} ({'; '.join(roles)})" if roles else text
