"""/reindex: re-read ARTICLES_DIR and swap the rebuilt index in, for a server's admins.

`default_permissions(manage_guild=True)` only hides the command from others by default, and server
admins can change that; who may run it is decided here, at run time, by `bot.permissions`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot import rendering
from bot.permissions import Requester, reindex_refusal
from bot.tree import NotAllowed, send_private
from index.articles import ArticleError
from index.retriever import ReindexRunning
from index.store import IndexDirRefused

if TYPE_CHECKING:
    from bot.bot import ArticleBot

log = logging.getLogger(__name__)


def requester(interaction: discord.Interaction) -> Requester:
    """The user of `interaction` as the permission rules see them."""
    user = interaction.user
    member = user if isinstance(user, discord.Member) else None
    permissions = interaction.permissions  # computed by Discord for this member and channel
    return Requester(
        user_id=user.id,
        role_ids=frozenset(role.id for role in member.roles) if member else frozenset(),
        in_guild=interaction.guild_id is not None and member is not None,
        manages_guild=permissions.manage_guild or permissions.administrator,
    )


def may_reindex(interaction: discord.Interaction) -> bool:
    """App command check: Manage Server, ADMIN_USER_IDS or ADMIN_ROLE_IDS, in a server."""
    settings = cast("ArticleBot", interaction.client).settings
    refusal = reindex_refusal(
        requester(interaction),
        admin_user_ids=settings.admin_user_ids,
        admin_role_ids=settings.admin_role_ids,
    )
    if refusal is not None:
        raise NotAllowed(refusal)
    return True


class Admin(commands.Cog):
    """Keeping the index up to date from Discord."""

    def __init__(self, bot: ArticleBot) -> None:
        self.bot = bot

    @app_commands.command(
        name="reindex", description="Re-read the article files and rebuild the index (admins)"
    )
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.check(may_reindex)
    async def reindex(self, interaction: discord.Interaction) -> None:
        """Rebuild in a worker thread; questions are answered from the current index meanwhile."""
        retriever = self.bot.retriever
        if retriever.reindexing:
            await send_private(interaction, rendering.REINDEX_RUNNING)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        log.info("reindex asked by user %s", interaction.user.id)
        try:
            stats = await retriever.reindex()
        except ReindexRunning:
            text = rendering.REINDEX_RUNNING
        except (ArticleError, IndexDirRefused) as error:
            log.warning("reindex failed: %s", error)
            text = rendering.reindex_failed_text(str(error))
        except Exception as error:
            # Not the admin's doing, but they asked for it and can act on it: say what failed.
            log.exception("reindex failed")
            text = rendering.reindex_failed_text(
                f"{type(error).__name__}: {error} (details in the bot's log)"
            )
        else:
            text = rendering.reindex_done_text(stats)
        await interaction.edit_original_response(
            content=text, allowed_mentions=discord.AllowedMentions.none()
        )
