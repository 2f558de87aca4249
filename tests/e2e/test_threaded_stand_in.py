"""The stand-in serves a bot running in another process, configured only by environment
variables — the way the product's bot will be tested end to end."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from stand_in import ApiSpec, DiscordStandIn

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(30)]

# What the product's bot must do with its settings before ``bot.start(token)``.
BOT_SCRIPT = """
import asyncio, os
import discord, yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

Route.BASE = os.environ["DISCORD_API_BASE_URL"]
DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(os.environ["DISCORD_GATEWAY_URL"])

intents = discord.Intents.default()
intents.message_content = True
client = discord.Client(intents=intents, guild_ready_timeout=0.1)

@client.event
async def on_message(message):
    if message.author != client.user and message.content == "ping":
        await message.reply("pong", mention_author=False)

client.run(os.environ["DISCORD_TOKEN"], log_handler=None)
"""


def test_bot_in_a_subprocess_talks_to_a_threaded_stand_in(discord_api_spec: ApiSpec) -> None:
    with DiscordStandIn.in_thread(spec=discord_api_spec) as threaded:
        server = threaded.server
        bot = subprocess.Popen(
            [sys.executable, "-c", BOT_SCRIPT],
            env={**os.environ, **server.environment()},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            threaded.call(server.wait_for_session, timeout=20)
            threaded.call(server.post_message, "rita", "ping")
            reply = threaded.call(server.wait_for_request, "POST", "/channels/{id}/messages", timeout=10)
        finally:
            bot.terminate()
            output = bot.communicate(timeout=10)[0].decode(errors="replace")

        assert reply.status == 200, output
        assert reply.body["content"] == "pong"
        assert reply.body["allowed_mentions"]["replied_user"] is False
        assert threaded.call(server.problems) == [], output
