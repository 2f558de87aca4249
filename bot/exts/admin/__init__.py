"""The bot admins' commands: /reindex and /insights."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.exts.admin._cog import Admin
from bot.exts.admin._insights import Insights

if TYPE_CHECKING:
    from bot.bot import ArticleBot


async def setup(bot: ArticleBot) -> None:
    """Load the Admin and Insights cogs."""
    await bot.add_cog(Admin(bot))
    await bot.add_cog(Insights(bot))
