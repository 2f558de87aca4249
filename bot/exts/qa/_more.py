"""The "More passages" button and the shelf of recent answers it reads from.

The button's custom_id carries only a short key; the answer stays in memory. Anyone who can see an
answer may press its button and gets the next passages as a reply only they see, so nobody's
message changes under the others. After a restart (or once the key has aged out of the shelf) the
button still responds, saying to ask again.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

from bot import rendering
from bot.tree import send_private

if TYPE_CHECKING:
    from index.answer import Answer

log = logging.getLogger(__name__)

LABEL = "More passages"
SHELF_CAPACITY = 2000


class AnswerShelf:
    """The most recent answers that have more passages to show, by key, oldest dropped first."""

    def __init__(self, capacity: int = SHELF_CAPACITY) -> None:
        self.capacity = capacity
        self._answers: OrderedDict[str, Answer] = OrderedDict()

    def put(self, answer: Answer) -> str:
        """Keep `answer`; returns the key its button carries."""
        key = secrets.token_hex(6)
        self._answers[key] = answer
        while len(self._answers) > self.capacity:
            self._answers.popitem(last=False)
        return key

    def get(self, key: str) -> Answer | None:
        """The answer kept under `key`, if it is still here."""
        answer = self._answers.get(key)
        if answer is not None:
            self._answers.move_to_end(key)
        return answer


class MorePassages(
    discord.ui.DynamicItem[discord.ui.Button], template=r"more-passages:(?P<key>[0-9a-f]{12})"
):
    """The button under an answer with more than one passage."""

    def __init__(self, key: str) -> None:
        super().__init__(
            discord.ui.Button(
                label=LABEL, style=discord.ButtonStyle.secondary, custom_id=f"more-passages:{key}"
            )
        )
        self.key = key

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> MorePassages:
        """The button for a press, rebuilt from its custom_id (after a restart too)."""
        return cls(match["key"])

    async def callback(self, interaction: discord.Interaction) -> None:
        """Show the presser the next passages, privately."""
        try:
            client = interaction.client
            qa = client.get_cog("QA") if isinstance(client, commands.bot.BotBase) else None
            shelf: AnswerShelf | None = getattr(qa, "shelf", None)
            answer = shelf.get(self.key) if shelf is not None else None
            if answer is None or len(answer.hits) < 2:
                await send_private(interaction, rendering.PASSAGES_GONE)
                return
            await interaction.response.send_message(
                embeds=rendering.more_passages_embeds(answer),
                ephemeral=True,
                allowed_mentions=discord.AllowedMentions.none(),
            )
        except Exception:
            # Button errors would go to discord.py's own logger; keep the tree's promise instead.
            log.exception("error in the More passages button (interaction %s)", interaction.id)
            await send_private(interaction, rendering.APOLOGY)
