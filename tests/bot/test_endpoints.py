"""DISCORD_API_BASE_URL and DISCORD_GATEWAY_URL are honoured by the bot itself, at login."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.bot import build_bot
from bot.endpoints import DISCORD_API_BASE, DISCORD_GATEWAY, use_endpoints
from bot.settings import BotSettings
from tests.bot.fakes import FakeRetriever

API = "http://127.0.0.1:8080/api/v10"
GATEWAY = "ws://127.0.0.1:8080/gateway"


@pytest.fixture(autouse=True)
def restore_discord_endpoints() -> Iterator[None]:
    yield
    use_endpoints(None, None)


def test_discord_defaults() -> None:
    assert DISCORD_API_BASE == "https://discord.com/api/v10"
    assert str(DISCORD_GATEWAY) == "wss://gateway.discord.gg/"


def test_use_endpoints_points_routes_and_the_gateway() -> None:
    use_endpoints(API, GATEWAY)
    assert Route("GET", "/users/@me").url == f"{API}/users/@me"
    assert Route("POST", "/interactions/{id}/{token}/callback", id=1, token="t").url.startswith(API)
    assert yarl.URL(GATEWAY) == DiscordWebSocket.DEFAULT_GATEWAY
    use_endpoints(None, None)
    assert Route.BASE == DISCORD_API_BASE
    assert DiscordWebSocket.DEFAULT_GATEWAY == DISCORD_GATEWAY


async def test_login_applies_the_settings_first(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, yarl.URL]] = []

    async def discord_login(self: object, token: str) -> None:
        seen.append((Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY))

    async def bot_gateway(self: object) -> tuple[int, str, dict[str, int]]:
        return 1, "wss://gateway.discord.gg", {"max_concurrency": 1, "remaining": 1000, "reset_after": 0}

    monkeypatch.setattr("discord.Client.login", discord_login)
    monkeypatch.setattr("discord.http.HTTPClient.get_bot_gateway", bot_gateway)
    settings = BotSettings.from_env(
        {
            "DISCORD_TOKEN": "t",
            "DISCORD_API_BASE_URL": "http://127.0.0.1:8080",
            "DISCORD_GATEWAY_URL": GATEWAY,
        }
    )
    bot = build_bot(settings, FakeRetriever())  # type: ignore[arg-type]
    await bot.login("t")
    assert seen == [(API, yarl.URL(GATEWAY))]

    plain = build_bot(BotSettings(token="t"), FakeRetriever())  # type: ignore[arg-type]
    await plain.login("t")
    assert seen[-1] == (DISCORD_API_BASE, DISCORD_GATEWAY)
