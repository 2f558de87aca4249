"""/reindex: re-read ARTICLES_DIR and swap the rebuilt index in, for a server's admins."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.exts.admin._cog import Admin

if TYPE_CHECKING:
    from bot.bot import ArticleBot


async def setup(bot: ArticleBot) -> None:
    """Load the Admin cog."""
    await bot.add_cog(Admin(bot))
