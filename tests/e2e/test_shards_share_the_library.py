"""Two bot processes, one per shard (SHARD_IDS 0 and 1 of 2), against one stand-in and one real
PostgreSQL server: each answers only its own guild, and an article an admin adds through one
process is answered by the other within seconds (the library lives in the database; each process
rebuilds its own index when notified)."""

from __future__ import annotations

import asyncio
import time

import pytest
from stand_in import DiscordStandIn, Upload, many_guilds_world, shard_of
from traffic import CALLBACK

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(240)]

WORLD = many_guilds_world(2)
SHARD_OF_GUILD = {index: shard_of(guild.id, 2) for index, guild in enumerate(WORLD.guilds)}
AQUARIUM = """Springfield Opens Its New Aquarium

The city aquarium opened on Saturday with a tank of sharks and a coral reef exhibit.

Tickets for the aquarium cost twelve dollars for adults, the director said.

The aquarium expects two hundred thousand visitors in its first year.
"""
QUESTION = "How much do aquarium tickets cost?"


def channel_on(shard: int) -> str:
    return f"general-{next(index for index, s in SHARD_OF_GUILD.items() if s == shard)}"


async def ask(stand_in: DiscordStandIn, channel: str) -> str:
    """/ask QUESTION in `channel`; the answer's text."""
    sent = await stand_in.slash_command("ask", {"question": QUESTION}, user="rita", channel=channel)
    await stand_in.wait_for_answer(sent, timeout=30)
    embeds = sent.original.get("embeds") or []
    return " ".join(
        [e.get("description") or "" for e in embeds]
        + [f["value"] for e in embeds for f in e.get("fields", [])]
    )


@pytest.mark.parametrize("world", [WORLD])
@pytest.mark.parametrize("stand_in_options", [{"shards": 2, "identify_window": 0.0}])
async def test_shard_processes_share_one_library_and_an_added_article_reaches_the_other_within_5_s(
    stand_in: DiscordStandIn, start_bot_process, postgres_url: str
) -> None:
    common = {"SHARD_COUNT": "2", "DATABASE_URL": postgres_url, "ASK_COOLDOWN_SECONDS": "0"}
    first = await start_bot_process({**common, "SHARD_IDS": "0"})
    second = await start_bot_process({**common, "SHARD_IDS": "1"})
    assert sorted(stand_in.gateway.connected_shards()) == [(0, 2), (1, 2)]
    assert "twelve dollars" not in await ask(stand_in, channel_on(1))
    answered_by = len(stand_in.requests_to("POST", CALLBACK))

    asked_to_add = time.monotonic()
    sent = await stand_in.slash_command(
        "article add",
        {"file": Upload("aquarium.txt", AQUARIUM.encode())},
        user="olivia",
        channel=channel_on(0),
    )
    await stand_in.wait_for_answer(sent, timeout=60)
    added_at = time.monotonic()
    assert sent.original["content"].startswith("Added “Springfield Opens Its New Aquarium”"), first.log()

    reached = None
    while time.monotonic() - added_at < 15:
        if "twelve dollars" in await ask(stand_in, channel_on(1)):  # answered by the other process
            reached = time.monotonic() - added_at
            break
        await asyncio.sleep(0.2)
    assert reached is not None, second.log()[-3000:]
    print(
        f"\n/article add answered by shard 0's process {added_at - asked_to_add:.2f} s after it was sent; "
        f"shard 1's process answered from the article {reached:.2f} s after that"
    )
    assert reached < 5, f"the other process answered from the new article after {reached:.1f} s"
    assert len(stand_in.requests_to("POST", CALLBACK)) > answered_by
    assert "twelve dollars" in await ask(stand_in, channel_on(0))
