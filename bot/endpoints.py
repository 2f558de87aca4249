"""Where discord.py sends REST calls and opens the gateway: Discord, or DISCORD_API_BASE_URL and
DISCORD_GATEWAY_URL (a proxy, or the local stand-in the end-to-end tests run).

discord.py 2.7 builds every REST URL — the bot's calls and interaction responses alike — from the
class attribute `discord.http.Route.BASE`, and a non-sharded client opens its first gateway
connection at `DiscordWebSocket.DEFAULT_GATEWAY` without asking `GET /gateway/bot` (resumes go to
the `resume_gateway_url` the server sent in READY). Both are process-wide, so `ArticleBot.login`
sets them each time it starts, back to discord.py's own values when the settings are blank.
"""

from __future__ import annotations

import logging

import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

log = logging.getLogger(__name__)

DISCORD_API_BASE = Route.BASE
DISCORD_GATEWAY = DiscordWebSocket.DEFAULT_GATEWAY


def use_endpoints(api_base_url: str | None, gateway_url: str | None) -> None:
    """Point discord.py at these URLs (None: Discord's own). `api_base_url` ends in /api/v10."""
    Route.BASE = api_base_url or DISCORD_API_BASE
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url) if gateway_url else DISCORD_GATEWAY
    if api_base_url or gateway_url:
        log.info("Discord API at %s, gateway at %s", Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
