"""The Discord face of the product: `run()` starts the bot; `bot.bot.build_bot` builds one in-process.

Importing this package is cheap: discord.py and the index are imported when the bot starts.
"""

from __future__ import annotations

__all__ = ["run"]


def run() -> int:
    """Run the Discord bot until SIGINT/SIGTERM; returns the process exit code (see `bot.runner`)."""
    from bot.runner import run as run_bot

    return run_bot()
