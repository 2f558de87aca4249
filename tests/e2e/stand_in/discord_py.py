"""Point discord.py 2.7 at a stand-in, and back.

discord.py reads two class attributes, both process-wide:

- ``discord.http.Route.BASE`` prefixes every REST path, webhooks and interaction callbacks
  included (``discord.webhook.async_`` builds its routes with the same ``Route``);
- ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`` is where ``Client.connect`` opens the
  websocket. A plain ``Client``/``commands.Bot`` never calls ``GET /gateway/bot``; only
  ``AutoShardedClient`` without ``shard_count`` does, and the stand-in answers that with its own
  URL. After READY, resumes go to READY's ``resume_gateway_url``, which is the stand-in again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route


@contextlib.contextmanager
def redirect_discord_py(api_base_url: str, gateway_url: str) -> Iterator[None]:
    """Send discord.py's REST and gateway traffic to the given URLs, restoring them after."""
    old_base, old_gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    Route.BASE = api_base_url
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    try:
        yield
    finally:
        Route.BASE = old_base
        DiscordWebSocket.DEFAULT_GATEWAY = old_gateway
