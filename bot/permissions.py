"""Who may do what, as pure functions of ids and flags (the cogs turn Discord objects into these)."""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass


def _in_dms(doing: str) -> str:
    return f"{doing} works only in a server, not in direct messages."


def _not_allowed(action: str) -> str:
    return (
        f"Only the bot's admins can {action}: the articles and their index are shared by every server "
        "the bot is in. Ask whoever runs the bot to add your user id to ADMIN_USER_IDS."
    )


REINDEX_IN_DMS = _in_dms("Reindexing")
REINDEX_NOT_ALLOWED = _not_allowed("reindex")
ARTICLES_IN_DMS = _in_dms("Adding or removing articles")
ARTICLES_NOT_ALLOWED = _not_allowed("add or remove articles")
INSIGHTS_IN_DMS = _in_dms("The insights report")
INSIGHTS_NOT_ALLOWED = (
    "Only the bot's owner and ADMIN_USER_IDS can see the insights report: it holds questions from "
    "every server the bot is in. Ask whoever runs the bot to add your user id to ADMIN_USER_IDS."
)


@dataclass(frozen=True)
class Requester:
    """Someone asking for an admin action, as the rules see them."""

    user_id: int
    role_ids: frozenset[int]
    in_guild: bool
    owns_application: bool  # the application's owner (or a member of the team that owns it)


def admin_refusal(
    who: Requester,
    *,
    admin_user_ids: Set[int],
    admin_role_ids: Set[int],
    in_dms: str = REINDEX_IN_DMS,
    not_allowed: str = REINDEX_NOT_ALLOWED,
) -> str | None:
    """Why `who` may not run a bot admin's command (`in_dms` or `not_allowed`), or None when they may.

    The articles and their index are one for every server, so only the bot's admins may change
    them: the application's owner, users in ADMIN_USER_IDS and holders of ADMIN_ROLE_IDS (roles the
    bot's operator chose; a role id belongs to one server). A server's own Manage Server is not
    enough. Never in DMs.
    """
    if not who.in_guild:
        return in_dms
    if who.owns_application or who.user_id in admin_user_ids or who.role_ids & admin_role_ids:
        return None
    return not_allowed


def reindex_refusal(who: Requester, *, admin_user_ids: Set[int], admin_role_ids: Set[int]) -> str | None:
    """Why `who` may not reindex, or None when they may (`admin_refusal`)."""
    return admin_refusal(who, admin_user_ids=admin_user_ids, admin_role_ids=admin_role_ids)


def may_answer_in(
    channel_id: int, parent_id: int | None, *, is_dm: bool, answer_channel_ids: Set[int]
) -> bool:
    """Whether a mention in this channel gets an answer: DMs always; elsewhere, with
    ANSWER_CHANNEL_IDS set, only those channels and threads inside them."""
    if is_dm or not answer_channel_ids:
        return True
    return channel_id in answer_channel_ids or (parent_id is not None and parent_id in answer_channel_ids)
