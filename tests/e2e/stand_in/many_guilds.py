"""A world of many guilds spread over shards, for sharded clients.

Guild ``i`` of ``many_guilds_world(count)`` lives on shard ``i % n`` for every shard count ``n``
from 1 to 8: the timestamps of the guild ids (``id >> 22``) are consecutive and the first is a
multiple of 840, which every such ``n`` divides. Each guild copies the default guild: the same
cast with the same roles, the bot a member with its managed role, and one text channel,
``#general-i``.
"""

from __future__ import annotations

import dataclasses

from .guild import FakeChannel, FakeGuild, FakeMember
from .world import World, default_world

# A multiple of 840 (the least common multiple of 1..8), in the default guild's era (2024).
_FIRST_TIMESTAMP = 286_102_295_640
_CHANNEL_OFFSET = 10


def many_guilds_world(count: int) -> World:
    """The default world with ``count`` guilds instead of one, guild ``i`` on shard ``i % n``."""
    if count < 1:
        raise ValueError(f"a world needs at least one guild, not {count}")
    template = default_world()
    guilds = tuple(_copy_of(template.guild, index) for index in range(count))
    return dataclasses.replace(template, guilds=guilds)


def _copy_of(template: FakeGuild, index: int) -> FakeGuild:
    guild_id = (_FIRST_TIMESTAMP + index) << 22
    # Role ids are the template's, moved along with the guild id (@everyone's id is the guild's).
    offset = guild_id - template.id
    roles = tuple(dataclasses.replace(role, id=role.id + offset) for role in template.roles)
    members = tuple(
        FakeMember(m.user, tuple(r + offset for r in m.role_ids), joined_at=m.joined_at, nick=m.nick)
        for m in template.members
    )
    channel = FakeChannel(guild_id + _CHANNEL_OFFSET, f"general-{index}", guild_id, topic=None)
    return FakeGuild(
        id=guild_id,
        name=f"Article Readers {index}",
        owner_id=template.owner_id,
        roles=roles,
        members=members,
        channels=(channel,),
    )
