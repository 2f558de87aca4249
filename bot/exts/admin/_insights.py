"""/insights: what readers asked, what the articles couldn't answer, and how answers were rated,
for the bot's admins, privately, with a chart of questions per day."""

from __future__ import annotations

import asyncio
import io
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import rendering
from bot.admins import bot_admins_only
from bot.permissions import INSIGHTS_IN_DMS, INSIGHTS_NOT_ALLOWED

if TYPE_CHECKING:
    from bot.bot import ArticleBot

log = logging.getLogger(__name__)

# The report holds questions from every server and from DMs: the operators' (the application's owner
# and ADMIN_USER_IDS), not a role one server's admins can hand out.
may_see_insights = bot_admins_only(
    in_dms=INSIGHTS_IN_DMS, not_allowed=INSIGHTS_NOT_ALLOWED, admin_roles=False
)


class Insights(commands.Cog):
    """The question log, reported."""

    def __init__(self, bot: ArticleBot) -> None:
        self.bot = bot

    @app_commands.command(
        name="insights", description="What readers asked and how answers were rated (admins)"
    )
    @app_commands.describe(days="How many days back (default 7)")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.check(may_see_insights)
    async def insights(
        self, interaction: discord.Interaction, days: app_commands.Range[int, 1, 3650] = 7
    ) -> None:
        """The report and its chart, privately."""
        recorder = self.bot.question_log
        if recorder is None:
            await interaction.response.send_message(
                rendering.INSIGHTS_OFF, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
            )
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        from insights.chart import questions_per_day_png
        from insights.report import build_report

        embedder = self.bot.retriever.retriever.embedder
        report = await asyncio.to_thread(build_report, recorder.engine, days=days, embed=embedder.embed)
        chart = await asyncio.to_thread(questions_per_day_png, report)
        await interaction.edit_original_response(
            embed=rendering.insights_embed(report).set_image(url="attachment://questions-per-day.png"),
            attachments=[discord.File(io.BytesIO(chart), filename="questions-per-day.png")],
            allowed_mentions=discord.AllowedMentions.none(),
        )
