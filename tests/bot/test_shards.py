"""Shards: SHARD_COUNT and SHARD_IDS, Discord's recommendation when unset, identify pacing by
`max_concurrency`, and slash commands synced by the process that runs shard 0 alone."""

from __future__ import annotations

import asyncio

import pytest

from bot.bot import IDENTIFY_WINDOW, build_bot
from bot.settings import BotSettings, SettingsError
from tests.bot.fakes import FakeRetriever

TOKEN = "t" * 60


def settings(**env: str) -> BotSettings:
    return BotSettings.from_env({"DISCORD_TOKEN": TOKEN, **env})


@pytest.mark.parametrize(
    ("raw", "ids"),
    [("0-3", (0, 1, 2, 3)), ("4, 5", (4, 5)), ("0-1,6 7", (0, 1, 6, 7)), ("3,3,1", (1, 3))],
)
def test_shard_ids_are_lists_and_ranges(raw: str, ids: tuple[int, ...]) -> None:
    assert settings(SHARD_COUNT="8", SHARD_IDS=raw).shard_ids == ids


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SHARD_IDS": "0"}, "SHARD_IDS: needs SHARD_COUNT"),
        (
            {"SHARD_COUNT": "2", "SHARD_IDS": "2"},
            "SHARD_IDS: '2': shard ids go from 0 to SHARD_COUNT - 1 (1)",
        ),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "1-0"}, "SHARD_IDS: '1-0'"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "one"}, "SHARD_IDS: 'one' is not a shard id"),
        ({"SHARD_COUNT": "0"}, "SHARD_COUNT: '0' is not a number of shards"),
        ({"SHARD_COUNT": "-1"}, "SHARD_COUNT: '-1' is not a number of shards"),
    ],
)
def test_a_bad_shard_setting_names_itself(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        settings(**env)


def test_only_the_process_running_shard_0_syncs_the_commands() -> None:
    assert settings().syncs_commands
    assert settings(SHARD_COUNT="4").syncs_commands
    assert settings(SHARD_COUNT="4", SHARD_IDS="0-1").syncs_commands
    assert not settings(SHARD_COUNT="4", SHARD_IDS="2-3").syncs_commands


async def test_the_bot_runs_its_shards_or_as_many_as_discord_recommends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def login(self: object, token: str) -> None:
        return None

    async def bot_gateway(self: object) -> tuple[int, str, dict[str, int]]:
        return 6, "wss://gateway.discord.gg", {"max_concurrency": 2, "remaining": 1000, "reset_after": 0}

    monkeypatch.setattr("discord.Client.login", login)
    monkeypatch.setattr("discord.http.HTTPClient.get_bot_gateway", bot_gateway)
    given = build_bot(settings(SHARD_COUNT="4", SHARD_IDS="2-3"), FakeRetriever())  # type: ignore[arg-type]
    recommended = build_bot(settings(), FakeRetriever())  # type: ignore[arg-type]
    await given.login(TOKEN)
    await recommended.login(TOKEN)

    assert (given.shard_count, given.shard_ids) == (4, [2, 3])
    assert (recommended.shard_count, recommended.shard_ids) == (6, None)
    assert recommended.max_concurrency == 2


async def test_shards_of_one_bucket_identify_five_seconds_apart_and_other_buckets_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bot = build_bot(settings(SHARD_COUNT="4"), FakeRetriever())  # type: ignore[arg-type]
    bot.max_concurrency = 2
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    for shard_id in range(4):  # buckets 0, 1, 0, 1
        await bot.before_identify_hook(shard_id, initial=shard_id == 0)

    assert len(waits) == 2  # shards 2 and 3 wait for their buckets
    assert all(IDENTIFY_WINDOW - 1 < wait <= IDENTIFY_WINDOW for wait in waits)
