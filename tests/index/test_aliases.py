"""Aliases learned from the articles' own text: acronyms, descriptions of names, and the role a
named speaker speaks as. Invented articles, so the rules are shown to be general, not this page's."""

from __future__ import annotations

import pytest

from index.aliases import (
    Aliases,
    expand_aliases,
    expand_for_counting,
    learn_acronyms,
    learn_aliases,
    learn_descriptions,
    learn_roles,
    role_key,
)
from index.articles import Article

LEDE = [
    "Springfield will close its downtown library branch next year, the governor announced Monday.",
    '"We cannot keep the lights on in a building nobody visits," Republican Ann Ortiz said.',
    "The closure saves the state about $2 million a year, budget director Tom Reyes said.",
    '"It is a hard choice," the governor said.',
    "Ortiz said the books will move to the main branch.",
]


def article(paragraphs: list[str], title: str = "Library To Close") -> Article:
    return Article(source="a.txt", title=title, captions=(), paragraphs=tuple(paragraphs), digest="x")


def test_acronyms_are_spelled_out_by_the_text_itself():
    texts = ["The National Weather Service (NWS) warned of storms.", "NWS said more rain is due."]
    assert learn_acronyms(texts) == {"NWS": "National Weather Service"}
    assert learn_acronyms(["NASA launched it."]) == {}  # never spelled out: nothing learned


def test_descriptions_from_roles_titles_and_appositives():
    found = learn_descriptions(
        [
            "The plan was approved, budget director Tom Reyes said.",
            "Republican Ann Ortiz spoke first.",
            "Greenfront, a local conservation group, objected.",
        ]
    )
    assert found == {
        "Tom Reyes": "budget director Tom Reyes",
        "Ann Ortiz": "Republican Ann Ortiz",
        "Greenfront": "Greenfront, a local conservation group",
    }


def test_a_role_named_in_the_lede_is_tied_to_the_speaker_named_next():
    descriptions = learn_descriptions(LEDE)
    assert learn_roles(LEDE, descriptions) == {"Ann Ortiz": "governor"}
    aliases = learn_aliases([article(LEDE)])
    assert aliases.roles == {role_key("a.txt", "Ann Ortiz"): "governor"}
    assert expand_aliases(LEDE[4], aliases, "a.txt").endswith("(Republican Ann Ortiz, the governor)")
    assert expand_for_counting(LEDE[4], aliases, "a.txt").endswith("(the governor)")
    # another article's passages don't get this article's roles
    assert expand_for_counting(LEDE[4], aliases, "b.txt") == LEDE[4]


def test_a_role_speaking_once_is_not_enough():
    paragraphs = [LEDE[0], LEDE[1], LEDE[4]]  # "the governor" speaks only in the lede
    assert learn_roles(paragraphs, learn_descriptions(paragraphs)) == {}


def test_two_candidates_are_ambiguous_so_nothing_is_learned():
    paragraphs = [
        "The museum will reopen in May, the director announced.",
        '"We are ready," Carl Berg said, and Dana Hill said the same.',
        "The director said tickets go on sale soon.",
    ]
    assert learn_roles(paragraphs, learn_descriptions(paragraphs)) == {}


def test_a_speaker_named_far_from_the_role_is_not_tied_to_it():
    paragraphs = [
        "The museum will reopen in May, the director announced.",
        "The building was closed for two years.",
        "Repairs cost more than planned.",
        '"We are ready," Carl Berg said.',
        "The director said tickets go on sale soon.",
    ]
    assert learn_roles(paragraphs, learn_descriptions(paragraphs)) == {}


def test_a_role_a_description_already_gives_is_not_reassigned():
    paragraphs = [
        '"We are ready," museum director Carl Berg said.',
        "Tickets go on sale soon, the director said.",
        '"So are we," Dana Hill said.',
        "The director said the cafe reopens too.",
    ]
    # "director" is Berg's: Hill, speaking right after, must not become the director
    assert learn_roles(paragraphs, learn_descriptions(paragraphs)) == {}


@pytest.mark.parametrize(
    "speaker",
    [
        '"The numbers do not work," budget director Tom Reyes said.',  # a role after a closing quote
        '"The numbers do not work," Police Commissioner Tom Reyes said.',  # a capitalised title
        '"The numbers do not work," Sen. Tom Reyes said.',
    ],
)
def test_a_speaker_with_a_role_of_their_own_is_not_given_another(speaker: str):
    paragraphs = [LEDE[0], speaker, '"It is a hard choice," the governor said.']
    assert learn_roles(paragraphs, learn_descriptions(paragraphs)) == {}
    with_party = [LEDE[0], speaker.replace("Sen.", "Republican"), paragraphs[2]]
    if "Sen." in speaker:  # a party is not a role: the same lede with "Republican" ties them
        assert learn_roles(with_party, learn_descriptions(with_party)) == {"Tom Reyes": "governor"}


@pytest.mark.parametrize(
    "role",
    ["report", "statement", "police", "department", "lawsuit"],
)
def test_things_that_speak_are_not_roles(role: str):
    paragraphs = [
        f"Two men were hurt in the crash, the {role} said.",
        '"It was terrible," Rosa Diaz said.',
        f"The {role} said the road reopens Monday.",
    ]
    assert learn_roles(paragraphs, learn_descriptions(paragraphs)) == {}


@pytest.mark.parametrize(
    "paragraphs",
    [
        pytest.param(
            [
                "The museum will reopen in May, Carl Berg told the newspaper.",
                '"We are ready," Dana Hill said.',
                "Berg told the newspaper tickets are cheap.",
            ],
            id="the-listener-of-told-is-not-a-speaker",
        ),
        pytest.param(
            [
                "The museum will reopen in May, the director announced.",
                "He said the doors open at nine. The Director said so.",
                "The director said tickets go on sale soon.",
            ],
            id="pronouns-and-sentence-openers-are-not-speakers",
        ),
        pytest.param(
            [
                "The museum will reopen in May, the director announced.",
                '"It is about time," Greenfront said.',
                "The director said tickets go on sale soon.",
            ],
            id="a-one-word-speaker-is-not-a-person-to-tie-a-role-to",
        ),
    ],
)
def test_no_role_is_tied_to_what_is_not_a_person_speaking(paragraphs: list[str]):
    assert learn_roles(paragraphs, learn_descriptions(paragraphs)) == {}


def test_roles_are_learned_per_article():
    role = "The museum will reopen, the director announced. Tickets are cheap, the director said."
    speaker = '"We are ready," Carl Berg said.'
    assert learn_aliases([article([role, speaker])]).roles == {role_key("a.txt", "Carl Berg"): "director"}
    # the same paragraphs in two articles: a lede's role is not a stranger's in another article
    other = Article(source="b.txt", title="Other", captions=(), paragraphs=(speaker,), digest="y")
    assert learn_aliases([article([role]), other]).roles == {}


def test_another_articles_descriptions_do_not_block_or_steal_a_role():
    elsewhere = Article(
        source="b.txt",
        title="Elsewhere",
        captions=(),
        paragraphs=("Mayor Eric Adams said the subway is safe.", "Democrat Tom Ortiz said so too."),
        digest="y",
    )
    assert learn_aliases([article(LEDE), elsewhere]).roles == {role_key("a.txt", "Ann Ortiz"): "governor"}


def test_old_manifests_without_roles_still_load():
    assert Aliases(**{"acronyms": {}, "descriptions": {}}).roles == {}


def test_alias_kinds_this_version_does_not_use_are_left_out():
    old = {"acronyms": {"ICE": "Immigration and Customs Enforcement"}, "names": {"philly": "Philly"}}

    assert Aliases.from_manifest(old) == Aliases(acronyms={"ICE": "Immigration and Customs Enforcement"})


@pytest.mark.parametrize(
    "word", ["Ortiz", "O'Brien", "Smith-Jones", "U.S.", "Jr.", "ICE", "Reyes", "Ann Ortiz"]
)
def test_a_name_is_found_by_lookup_exactly_where_a_search_finds_it(word: str):
    from index.aliases import _Mentions, _mentions

    texts = [
        "Ortiz, O'Brien and Smith-Jones met U.S. officials.",
        "Ortiz-Lee and O'Briens and ICEberg and xU.S.x and Jr.x",
        "Sen. Ann Ortiz Jr. said (ICE) -Reyes- Reyes_2 Reyes's",
        "",
    ]
    for text in texts:
        assert _Mentions(text)(word) == _mentions(text, word), (text, word)


def test_descriptions_are_appended_in_the_order_they_were_learned_whatever_the_text_s_order():
    names = [f"Name{chr(65 + n)}" for n in range(20)]
    aliases = Aliases(
        descriptions={f"Ann {name}": f"official {n} Ann {name}" for n, name in enumerate(names)},
        roles={role_key("a.txt", "Bo Zed"): "mayor", role_key("b.txt", "Cy Vale"): "chief"},
    )
    text = " ".join(reversed(names)) + " Zed Vale."

    expanded = expand_aliases(text, aliases, "a.txt")

    additions = expanded.removeprefix(text + " (").removesuffix(")").split("; ")
    assert additions == [f"official {n} Ann {name}" for n, name in enumerate(names)] + ["Bo Zed, the mayor"]
    assert expand_for_counting("Zed and Vale spoke.", aliases, "b.txt") == "Zed and Vale spoke. (the chief)"
