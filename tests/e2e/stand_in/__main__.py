"""Run a stand-in until Ctrl-C, e.g. to try the real bot against it by hand.

cd tests/e2e && python -m stand_in --port 8787
# then start the bot with the printed DISCORD_* variables in its environment
cd tests/e2e && python -m stand_in --guilds 4 --shards 2   # for a sharded bot
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging

from .many_guilds import many_guilds_world
from .server import DiscordStandIn
from .world import default_world


async def serve(port: int, *, guilds: int = 1, shards: int = 1, max_concurrency: int = 1) -> None:
    """Serve on ``port`` (0: any free port) until cancelled, then print what happened; with
    ``guilds`` above 1 the world is ``many_guilds_world(guilds)``."""
    world = many_guilds_world(guilds) if guilds > 1 else default_world()
    async with DiscordStandIn(world, shards=shards, max_concurrency=max_concurrency, port=port) as server:
        for key, value in server.environment().items():
            print(f"{key}={value}", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            print(f"{len(server.requests)} requests:", *server.requests, sep="\n  ")
            print("problems:", *(server.problems() or ["none"]), sep="\n  ")


def main() -> None:
    """Parse the options and serve."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="TCP port (default: any free one)")
    parser.add_argument("--guilds", type=int, default=1, help="guilds the bot is in (default: 1)")
    parser.add_argument("--shards", type=int, default=1, help="shards GET /gateway/bot recommends")
    parser.add_argument("--max-concurrency", type=int, default=1, help="IDENTIFYs per 5 s (default: 1)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            serve(args.port, guilds=args.guilds, shards=args.shards, max_concurrency=args.max_concurrency)
        )


if __name__ == "__main__":
    main()
