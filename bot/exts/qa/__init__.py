"""Questions and answers: /ask, mentions and DMs, the "Ask the article" message command, /about."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.exts.qa._cog import QA

if TYPE_CHECKING:
    from bot.bot import ArticleBot


async def setup(bot: ArticleBot) -> None:
    """Load the QA cog."""
    await bot.add_cog(QA(bot))
