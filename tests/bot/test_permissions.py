"""Who may reindex, and where mention answers are allowed: pure rules over ids and flags."""

from __future__ import annotations

import pytest

from bot.permissions import (
    REINDEX_IN_DMS,
    REINDEX_NOT_ALLOWED,
    Requester,
    may_answer_in,
    reindex_refusal,
)

ADMIN_USER = 10
ADMIN_ROLE = 20


def refusal(**who: object) -> str | None:
    base = {"user_id": 1, "role_ids": frozenset(), "in_guild": True, "owns_application": False}
    return reindex_refusal(
        Requester(**{**base, **who}),  # type: ignore[arg-type]
        admin_user_ids={ADMIN_USER},
        admin_role_ids={ADMIN_ROLE},
    )


def test_plain_member_is_refused() -> None:
    assert refusal() == REINDEX_NOT_ALLOWED


def test_holder_of_another_role_is_refused() -> None:
    assert refusal(role_ids=frozenset({21, 22})) == REINDEX_NOT_ALLOWED


def test_the_refusal_says_who_may_and_why() -> None:
    assert "bot's admins" in REINDEX_NOT_ALLOWED
    assert "every server" in REINDEX_NOT_ALLOWED
    assert "ADMIN_USER_IDS" in REINDEX_NOT_ALLOWED


@pytest.mark.parametrize(
    "who",
    [
        {"owns_application": True},
        {"user_id": ADMIN_USER},
        {"role_ids": frozenset({5, ADMIN_ROLE})},
    ],
)
def test_the_owner_admin_users_and_admin_roles_may(who: dict[str, object]) -> None:
    assert refusal(**who) is None


@pytest.mark.parametrize(
    "who", [{}, {"user_id": ADMIN_USER}, {"owns_application": True}, {"role_ids": frozenset({ADMIN_ROLE})}]
)
def test_nobody_reindexes_from_dms(who: dict[str, object]) -> None:
    assert refusal(in_guild=False, **who) == REINDEX_IN_DMS


def test_answers_everywhere_without_an_allow_list() -> None:
    assert may_answer_in(1, None, is_dm=False, answer_channel_ids=frozenset())


def test_allow_list_limits_channels_and_their_threads() -> None:
    allowed = frozenset({100})
    assert may_answer_in(100, None, is_dm=False, answer_channel_ids=allowed)
    assert may_answer_in(555, 100, is_dm=False, answer_channel_ids=allowed)  # a thread in #100
    assert not may_answer_in(200, None, is_dm=False, answer_channel_ids=allowed)
    assert not may_answer_in(555, 200, is_dm=False, answer_channel_ids=allowed)


def test_dms_are_always_allowed() -> None:
    assert may_answer_in(999, None, is_dm=True, answer_channel_ids=frozenset({100}))
