"""The Discord face of the product: `run()` starts the bot; `bot.bot.build_bot` builds one in-process.

Importing this package is cheap: discord.py and the index are imported when the bot starts.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

__all__ = ["run"]

log = logging.getLogger(__name__)


def run(env: Mapping[str, str] | None = None) -> int:
    """Run the Discord bot until SIGINT/SIGTERM; returns the process exit code (see `bot.runner`).

    A signal at any moment of the start-up (importing discord.py, loading the model, opening the
    index) stops it cleanly with exit code 0 too.
    """
    from bot.stopping import StopRequested, stop_requests

    with stop_requests():
        try:
            from bot.runner import run as run_bot  # discord.py, numpy, FAISS: most of a second

            return run_bot(env)
        except StopRequested as stop:
            log.info("stopping: %s before the bot was connected", stop)
            return 0
