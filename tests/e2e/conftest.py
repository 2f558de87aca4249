"""Fixtures for end-to-end tests against the local Discord stand-in (see ``stand_in``).

- ``discord_api_spec``: the OpenAPI spec, loaded once per session.
- ``stand_in``: a running ``DiscordStandIn``; at teardown the test fails (an error at teardown)
  if the stand-in saw unexpected routes, invalid bodies or protocol errors.
- ``discord_py_at_stand_in``: the stand-in, with discord.py's REST base and gateway URL pointed
  at it for the test (restored afterwards).
- ``start_client``: ``await start_client(client)`` starts a discord.py client on the stand-in,
  returns once it is ready, and closes it at teardown.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import discord
import pytest
from stand_in import ApiSpec, DiscordStandIn, load_spec
from stand_in.discord_py import redirect_discord_py

StartClient = Callable[..., Awaitable[discord.Client]]


@pytest.fixture(scope="session")
def discord_api_spec() -> ApiSpec:
    """The vendored Discord OpenAPI spec with its validators, shared by every test."""
    return load_spec()


@pytest.fixture
async def stand_in(discord_api_spec: ApiSpec) -> AsyncIterator[DiscordStandIn]:
    """A running stand-in; problems it recorded fail the test at teardown."""
    async with DiscordStandIn(spec=discord_api_spec) as server:
        yield server
    server.assert_clean()


@pytest.fixture
def discord_py_at_stand_in(stand_in: DiscordStandIn) -> Iterator[DiscordStandIn]:
    """The stand-in, with discord.py's ``Route.BASE`` and default gateway pointing at it."""
    with redirect_discord_py(stand_in.api_base_url, stand_in.gateway_url):
        yield stand_in


@pytest.fixture
async def start_client(discord_py_at_stand_in: DiscordStandIn) -> AsyncIterator[StartClient]:
    """``await start_client(client, timeout=5)``: start ``client`` against the stand-in and
    return it once ``is_ready()``; every started client is closed at teardown."""
    running: list[tuple[discord.Client, asyncio.Task[None]]] = []

    async def start(client: discord.Client, *, timeout: float = 5.0) -> discord.Client:  # noqa: ASYNC109
        task = asyncio.create_task(client.start(discord_py_at_stand_in.token))
        running.append((client, task))
        deadline = asyncio.get_running_loop().time() + timeout
        while not client.is_ready():
            if task.done():
                running.remove((client, task))
                task.result()  # raises what stopped the client
                raise RuntimeError("the client stopped before it was ready")
            if asyncio.get_running_loop().time() > deadline:
                seen = ", ".join(str(r) for r in discord_py_at_stand_in.requests)
                problems = discord_py_at_stand_in.problems()
                raise TimeoutError(
                    f"client not ready within {timeout}s; requests: {seen}; problems: {problems}"
                )
            await asyncio.sleep(0.005)
        return client

    yield start
    for client, task in running:
        await client.close()
        # A client that crashed during the test raises here, failing the test at teardown.
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=5)
