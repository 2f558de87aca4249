"""/reindex: re-read ARTICLES_DIR and swap the rebuilt index in, for the bot's admins.

The index is one for every server the bot is in, so a server's own admins can't rebuild it: only
the bot's (`bot.permissions.admin_refusal`), checked at run time. `default_permissions` only
hides the command from members without Manage Server by default. One rebuild at a time, and at most
one per REINDEX_COOLDOWN_SECONDS, whoever asks: each costs CPU that every server's questions share.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import rendering
from bot.admins import bot_admins_only
from bot.permissions import REINDEX_IN_DMS, REINDEX_NOT_ALLOWED
from bot.tree import send_private
from index.articles import ArticleError
from index.retriever import ReindexRunning
from index.store import IndexDirRefused

if TYPE_CHECKING:
    from bot.bot import ArticleBot

log = logging.getLogger(__name__)


may_reindex = bot_admins_only(in_dms=REINDEX_IN_DMS, not_allowed=REINDEX_NOT_ALLOWED)


class Admin(commands.Cog):
    """Keeping the index up to date from Discord."""

    def __init__(self, bot: ArticleBot) -> None:
        self.bot = bot
        self.rebuilt_at: float | None = None  # when the last successful reindex ended (bot.clock)

    def cooldown_left(self) -> float:
        """Seconds before the next reindex may start: REINDEX_COOLDOWN_SECONDS after the last one that
        succeeded, whoever ran it (a failed one doesn't count: the admin fixes the cause and retries)."""
        if self.rebuilt_at is None:
            return 0.0
        return max(0.0, self.bot.settings.reindex_cooldown_seconds - (self.bot.clock() - self.rebuilt_at))

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
        if wait := self.cooldown_left():
            await send_private(interaction, rendering.reindex_cooldown_text(wait))
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
            self.rebuilt_at = self.bot.clock()
            text = rendering.reindex_done_text(stats)
        await interaction.edit_original_response(
            content=text, allowed_mentions=discord.AllowedMentions.none()
        )
