"""Run a stand-in until Ctrl-C, e.g. to try the real bot against it by hand.

cd tests/e2e && python -m stand_in --port 8787
# then start the bot with the printed DISCORD_* variables in its environment
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging

from .server import DiscordStandIn


async def serve(port: int) -> None:
    """Serve on ``port`` (0: any free port) until cancelled, then print what happened."""
    async with DiscordStandIn(port=port) as server:
        for key, value in server.environment().items():
            print(f"{key}={value}", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            print(f"{len(server.requests)} requests:", *server.requests, sep="\n  ")
            print("problems:", *(server.problems() or ["none"]), sep="\n  ")


def main() -> None:
    """Parse ``--port`` and serve."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="TCP port (default: any free one)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port))


if __name__ == "__main__":
    main()
