"""/article add, list and remove: the library of articles, managed from Discord."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.exts.articles._cog import Articles

if TYPE_CHECKING:
    from bot.bot import ArticleBot


async def setup(bot: ArticleBot) -> None:
    """Load the Articles cog."""
    await bot.add_cog(Articles(bot))
