"""Commands for the application's owner, given by mentioning the bot: `@Bot sync`.

A mention prefix works without the message content intent (a message that mentions the bot carries
its text), and needs no synced slash command, so it can do the first global sync. Only the owner's
messages are read as commands (`ArticleBot.process_commands`); anyone else's are questions.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

import discord
from discord.ext import commands

if TYPE_CHECKING:
    from bot.bot import ArticleBot

log = logging.getLogger(__name__)

Scope = Literal["global", "here", "clear"]
USAGE = (
    "`sync` publishes the commands everywhere; `sync here` copies them to this server at once; "
    "`sync clear` removes this server's copies."
)


class Owner(commands.Cog):
    """Owner-only upkeep."""

    def __init__(self, bot: ArticleBot) -> None:
        self.bot = bot

    async def cog_check(self, ctx: commands.Context[ArticleBot]) -> bool:
        """Every command here is the application owner's only."""
        if not await self.bot.is_owner(ctx.author):
            raise commands.NotOwner("only the application's owner can use this")
        return True

    @commands.command(name="sync")
    async def sync(self, ctx: commands.Context[ArticleBot], scope: Scope = "global") -> None:
        """Sync the app commands globally (`sync`), to this server (`sync here`), or remove this
        server's copies (`sync clear`)."""
        tree = self.bot.tree
        if scope == "global":
            synced = await tree.sync()
            text = f"Synced {len(synced)} commands globally; Discord may take a while to show them."
        elif ctx.guild is None:
            text = f"`sync {scope}` works in a server. " + USAGE
        elif scope == "here":
            tree.copy_global_to(guild=ctx.guild)
            synced = await tree.sync(guild=ctx.guild)
            text = f"Synced {len(synced)} commands to this server."
        else:
            tree.clear_commands(guild=ctx.guild)
            await tree.sync(guild=ctx.guild)
            text = "Removed this server's copies of the commands; the global ones remain."
        log.info("owner sync (%s): %s", scope, text)
        await ctx.reply(text, mention_author=False, allowed_mentions=discord.AllowedMentions.none())

    async def cog_command_error(self, ctx: commands.Context[ArticleBot], error: Exception) -> None:
        """Usage mistakes get the usage; a failed sync gets Discord's reason; others are logged."""
        original = getattr(error, "original", error)
        if isinstance(error, commands.NotOwner):
            return
        if isinstance(error, commands.UserInputError):
            text = USAGE
        elif isinstance(original, discord.HTTPException):
            text = f"Sync failed: {original.status} {original.text or original.__class__.__name__}"
        else:
            log.error("error in owner command %s", ctx.command, exc_info=original)
            text = "That failed; the details are in the bot's log."
        await ctx.reply(text, mention_author=False, allowed_mentions=discord.AllowedMentions.none())
