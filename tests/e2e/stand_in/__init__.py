"""A local Discord for end-to-end tests (placeholder docstring, expanded below)."""

from __future__ import annotations

from .faults import Fault, rate_limit, server_error, slow, unknown_interaction
from .guild import FakeChannel, FakeGuild, FakeMember, FakeRole, FakeUser
from .interactions import SentInteraction
from .recording import RecordedRequest, ValidationFailure
from .server import DEFAULT_TOKEN, DiscordStandIn, ThreadedStandIn
from .spec import ApiSpec, load_spec
from .world import World, default_world

__all__ = [
    "DEFAULT_TOKEN",
    "ApiSpec",
    "DiscordStandIn",
    "FakeChannel",
    "FakeGuild",
    "FakeMember",
    "FakeRole",
    "FakeUser",
    "Fault",
    "RecordedRequest",
    "SentInteraction",
    "ThreadedStandIn",
    "ValidationFailure",
    "World",
    "default_world",
    "load_spec",
    "rate_limit",
    "server_error",
    "slow",
    "unknown_interaction",
]
