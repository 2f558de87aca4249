"""The application command tree, its one error handler, and the private replies it sends."""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from bot import rendering
from bot.async_retriever import Busy

log = logging.getLogger(__name__)


class AskingTooFast(app_commands.CheckFailure):
    """The user asked again within ASK_COOLDOWN_SECONDS."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(rendering.slow_down_text(retry_after))
        self.retry_after = retry_after


class NotAllowed(app_commands.CheckFailure):
    """The user may not run this command; the message says who may."""


async def send_private(interaction: discord.Interaction, text: str) -> None:
    """Tell the user `text` only they can see, whatever state the interaction is in: a first
    response, the filling-in of a deferred "thinking…" reply, or a follow-up."""
    none = discord.AllowedMentions.none()
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(text, ephemeral=True, allowed_mentions=none)
        elif interaction.response.type is discord.InteractionResponseType.deferred_channel_message:
            await interaction.edit_original_response(
                content=text, embed=None, view=None, allowed_mentions=none
            )
        else:
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=none)
    except discord.HTTPException as error:
        log.warning("could not reply to interaction %s: %s", interaction.id, error)


class ArticleTree(app_commands.CommandTree):
    """The bot's command tree; `on_error` is where every app command error ends up."""

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        """User errors get a clear private sentence; anything else is logged and apologised for."""
        original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        if isinstance(original, Busy):
            await send_private(interaction, rendering.BUSY)
        elif isinstance(error, app_commands.CheckFailure):
            await send_private(interaction, str(error) or "You can't use this command here.")
        else:
            name = interaction.command.qualified_name if interaction.command else "an interaction"
            log.error("error in %s (interaction %s)", name, interaction.id, exc_info=original)
            await send_private(interaction, rendering.APOLOGY)
