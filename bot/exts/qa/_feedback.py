"""Helpful / Not helpful under every answer, and what a "Not helpful" may add.

Each button's custom_id carries the answer's id (the question log's key), so a press works after a
restart too (a dynamic item). A vote is recorded at once; a second press by the same person replaces
their vote. "Not helpful" also opens a one-line form, "what were you looking for?", optional: its
answer is recorded with the vote when sent. Every acknowledgement is private. With the question log
off (QUESTION_LOG_DAYS=0) answers carry no feedback buttons.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import discord

from bot import rendering
from bot.tree import send_private
from insights.recording import VoteRecord

if TYPE_CHECKING:
    from insights.recording import QuestionLog

log = logging.getLogger(__name__)

COMMENT_CHARS = 200


def question_log(interaction: discord.Interaction) -> QuestionLog | None:
    """The bot's question log (None when recording is off)."""
    return getattr(interaction.client, "question_log", None)


def record_vote(
    interaction: discord.Interaction, answer_id: str, *, helpful: bool, comment: str | None
) -> bool:
    """Queue the vote; False when there is no log to record it in."""
    recorder = question_log(interaction)
    if recorder is None:
        return False
    recorder.record_vote(
        VoteRecord(
            answer_id=answer_id,
            user_id=interaction.user.id,
            helpful=helpful,
            comment=comment,
            voted_at=datetime.now(UTC),
        )
    )
    return True


class Feedback(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"feedback:(?P<answer>[0-9a-f]{16}):(?P<vote>up|down)",
):
    """One of the two feedback buttons under an answer."""

    def __init__(self, answer_id: str, *, helpful: bool) -> None:
        super().__init__(
            discord.ui.Button(
                label="Helpful" if helpful else "Not helpful",
                emoji="👍" if helpful else "👎",
                style=discord.ButtonStyle.secondary,
                custom_id=f"feedback:{answer_id}:{'up' if helpful else 'down'}",
            )
        )
        self.answer_id = answer_id
        self.helpful = helpful

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Feedback:
        """The button for a press, rebuilt from its custom_id (after a restart too)."""
        return cls(match["answer"], helpful=match["vote"] == "up")

    async def callback(self, interaction: discord.Interaction) -> None:
        """Record the vote; "Not helpful" asks what was missing, "Helpful" says thanks privately."""
        try:
            if not record_vote(interaction, self.answer_id, helpful=self.helpful, comment=None):
                await send_private(interaction, rendering.FEEDBACK_OFF)
            elif self.helpful:
                await send_private(interaction, rendering.THANKS_HELPFUL)
            else:
                await interaction.response.send_modal(WhatWasMissing(self.answer_id))
        except Exception:
            log.exception("error in a feedback button (interaction %s)", interaction.id)
            await send_private(interaction, rendering.APOLOGY)


class WhatWasMissing(discord.ui.Modal, title="Not helpful: what were you looking for?"):
    """The optional one-line comment of a "Not helpful" vote."""

    wanted: discord.ui.TextInput[WhatWasMissing] = discord.ui.TextInput(
        label="What were you looking for? (optional)",
        style=discord.TextStyle.short,
        required=False,
        max_length=COMMENT_CHARS,
        placeholder="e.g. how long the contract ran",
    )

    def __init__(self, answer_id: str) -> None:
        super().__init__(timeout=600)
        self.answer_id = answer_id

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Record the vote again with the comment (it replaces the one recorded at the press)."""
        comment = " ".join(self.wanted.value.split())[:COMMENT_CHARS] or None
        record_vote(interaction, self.answer_id, helpful=False, comment=comment)
        await send_private(interaction, rendering.THANKS_NOT_HELPFUL)

    async def on_error(self, interaction: discord.Interaction, error: Exception, /) -> None:
        log.error("error in the feedback form (interaction %s)", interaction.id, exc_info=error)
        await send_private(interaction, rendering.APOLOGY)
