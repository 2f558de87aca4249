"""The bot admins' app command check: `bot.permissions.admin_refusal` applied to an interaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, cast

import discord

from bot.permissions import Requester, admin_refusal
from bot.tree import NotAllowed

if TYPE_CHECKING:
    from bot.bot import ArticleBot


async def requester(interaction: discord.Interaction) -> Requester:
    """The user of `interaction` as the permission rules see them."""
    user = interaction.user
    member = user if isinstance(user, discord.Member) else None
    bot = cast("ArticleBot", interaction.client)
    return Requester(
        user_id=user.id,
        role_ids=frozenset(role.id for role in member.roles) if member else frozenset(),
        in_guild=interaction.guild_id is not None and member is not None,
        owns_application=await bot.is_owner(user),  # the application's info is fetched once, then cached
    )


def bot_admins_only(
    *, in_dms: str, not_allowed: str, admin_roles: bool = True
) -> Callable[[discord.Interaction], Awaitable[bool]]:
    """An app command check that lets only the bot's admins through, in a server; anyone else gets
    `NotAllowed` with `in_dms` or `not_allowed` (the tree's error handler says it privately). With
    `admin_roles` false, holders of ADMIN_ROLE_IDS don't count: only the application's owner and
    ADMIN_USER_IDS."""

    async def predicate(interaction: discord.Interaction) -> bool:
        settings = cast("ArticleBot", interaction.client).settings
        refusal = admin_refusal(
            await requester(interaction),
            admin_user_ids=settings.admin_user_ids,
            admin_role_ids=settings.admin_role_ids if admin_roles else frozenset(),
            in_dms=in_dms,
            not_allowed=not_allowed,
        )
        if refusal is not None:
            raise NotAllowed(refusal)
        return True

    return predicate
