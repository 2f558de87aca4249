"""Owner-only upkeep by mention: `@Bot sync`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.exts.owner._cog import Owner

if TYPE_CHECKING:
    from bot.bot import ArticleBot


async def setup(bot: ArticleBot) -> None:
    """Load the Owner cog."""
    await bot.add_cog(Owner(bot))
