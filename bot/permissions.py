"""Who may do what, as pure functions of ids and flags (the cogs turn Discord objects into these)."""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass

REINDEX_IN_DMS = "Reindexing works only in a server, not in direct messages."
REINDEX_NOT_ALLOWED = (
    "Only the bot's admins can reindex: the index is shared by every server the bot is in. "
    "Ask whoever runs the bot to add your user id to ADMIN_USER_IDS."
)


@dataclass(frozen=True)
class Requester:
    """Someone asking for an admin action, as the rules see them."""

    user_id: int
    role_ids: frozenset[int]
    in_guild: bool
    owns_application: bool  # the application's owner (or a member of the team that owns it)


def reindex_refusal(who: Requester, *, admin_user_ids: Set[int], admin_role_ids: Set[int]) -> str | None:
    """Why `who` may not reindex, or None when they may.

    The index is one for every server, so only the bot's admins may rebuild it: the application's
    owner, users in ADMIN_USER_IDS and holders of ADMIN_ROLE_IDS (roles the bot's operator chose;
    a role id belongs to one server). A server's own Manage Server is not enough. Never in DMs.
    """
    if not who.in_guild:
        return REINDEX_IN_DMS
    if who.owns_application or who.user_id in admin_user_ids or who.role_ids & admin_role_ids:
        return None
    return REINDEX_NOT_ALLOWED


def may_answer_in(
    channel_id: int, parent_id: int | None, *, is_dm: bool, answer_channel_ids: Set[int]
) -> bool:
    """Whether a mention in this channel gets an answer: DMs always; elsewhere, with
    ANSWER_CHANNEL_IDS set, only those channels and threads inside them."""
    if is_dm or not answer_channel_ids:
        return True
    return channel_id in answer_channel_ids or (parent_id is not None and parent_id in answer_channel_ids)
