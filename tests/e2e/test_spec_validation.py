"""The stand-in's request validation rejects what Discord rejects and accepts what it accepts,
and the stand-in's own payloads match the spec's response schemas."""

from __future__ import annotations

import time
from typing import Any

import discord
import pytest
from stand_in import ApiSpec, DiscordStandIn, default_world
from stand_in.commands import command_errors
from stand_in.spec import SPEC_DIR

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(30)]

MESSAGES = "/channels/1200000000000000110/messages"
CALLBACK = "/interactions/1/token/callback"
FOLLOWUP = "/webhooks/1/token"


def problems(spec: ApiSpec, method: str, path: str, body: Any) -> list[str]:
    """What the stand-in would say about ``body`` sent to ``method path``."""
    operation = spec.match(method, path)
    assert operation is not None, f"the spec has no {method} {path}"
    return spec.validate(operation, body)


def button(custom_id: str = "more", label: str = "More") -> dict[str, Any]:
    return {"type": 2, "style": 1, "label": label, "custom_id": custom_id}


def test_spec_loads_in_well_under_a_second() -> None:
    started = time.perf_counter()
    spec = ApiSpec.load(SPEC_DIR)
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    problems(spec, "POST", MESSAGES, {"content": "warm up the validator"})
    first_validation = time.perf_counter() - started

    # Measured: about 0.05 s to load, 1 ms for the first validation of an operation.
    assert loaded < 1.0
    assert first_validation < 0.5
    assert spec.version.startswith((SPEC_DIR / "VERSION").read_text().split()[0])


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        (MESSAGES, {"content": "x" * 2001}, "content is 2001 characters; the limit is 2000"),
        (FOLLOWUP, {"content": "x" * 2001}, "$.content: "),
        (MESSAGES, {"embeds": [{"description": "d" * 5000}]}, "$.embeds[0].description: "),
        (MESSAGES, {"embeds": [{"title": "t" * 257}]}, "embeds[0].title is 257 characters"),
        (MESSAGES, {"embeds": [{"footer": {"text": "f" * 2049}}]}, "footer.text is 2049"),
        (MESSAGES, {"embeds": [{"author": {"name": "a" * 257}}]}, "author.name is 257"),
        (
            MESSAGES,
            {"embeds": [{"fields": [{"name": "n", "value": "v" * 1025}]}]},
            "fields[0].value is 1025 characters",
        ),
        (
            MESSAGES,
            {"embeds": [{"fields": [{"name": "n" * 257, "value": "v"}]}]},
            "fields[0].name is 257 characters",
        ),
        (
            MESSAGES,
            {"embeds": [{"fields": [{"name": "n", "value": "v"}] * 26}]},
            "26 fields; the limit is 25",
        ),
        (MESSAGES, {"embeds": [{"description": "d"}] * 11}, "11 embeds; the limit is 10"),
        (
            MESSAGES,
            {"embeds": [{"description": "d" * 4000}, {"description": "d" * 2001}]},
            "embeds hold 6001 characters in all; the limit is 6000",
        ),
        (
            MESSAGES,
            {"embeds": [{"description": "d" * 4096, "fields": [{"name": "n", "value": "v" * 1000}] * 2}]},
            "holds 6098 characters; the limit is 6000",
        ),
        (
            MESSAGES,
            {"content": "hi", "allowed_mentions": {"parse": "users"}},
            "$.allowed_mentions.parse: 'users' is not of type 'array', 'null'",
        ),
        (
            MESSAGES,
            {"content": "hi", "allowed_mentions": {"parse": ["robots"]}},
            "$.allowed_mentions.parse[0]: 'robots' is not one of",
        ),
        (
            MESSAGES,
            {"components": [{"type": 1, "components": [button(label="L" * 81)]}]},
            "components[0].components[0].label is 81 characters; the limit is 80",
        ),
        (
            MESSAGES,
            {"components": [{"type": 1, "components": [button(custom_id="c" * 101)]}]},
            "components[0].components[0].custom_id is 101 characters; the limit is 100",
        ),
        (
            MESSAGES,
            {"components": [{"type": 1, "components": [button(str(i)) for i in range(6)]}]},
            "components[0]: 6 buttons; the limit is 5 per row",
        ),
        (
            MESSAGES,
            {"components": [{"type": 1, "components": [button(str(i))]} for i in range(6)]},
            "components: 6 rows; the limit is 5",
        ),
        (CALLBACK, {"type": 3}, "$.type: 3 is not one of [1, 4, 5, 6, 7, 8, 9, 12, 13]"),
        (CALLBACK, {"type": 4, "data": {"content": "x" * 2001}}, "data: content is 2001"),
        (
            CALLBACK,
            {"type": 4, "data": {"embeds": [{"description": "d" * 5000}]}},
            "$.data.embeds[0].description: ",
        ),
    ],
)
def test_validator_rejects_invalid_bodies(
    discord_api_spec: ApiSpec, path: str, body: Any, expected: str
) -> None:
    found = problems(discord_api_spec, "POST", path, body)

    assert any(expected in problem for problem in found), found


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", MESSAGES, {"content": "x" * 2000}),
        (
            "POST",
            MESSAGES,
            {
                "content": "Here is what the article says",
                "embeds": [
                    {
                        "title": "t" * 256,
                        "description": "d" * 4096,
                        "fields": [{"name": "n" * 10, "value": "v" * 50, "inline": False}] * 25,
                        "footer": {"text": "From the article"},
                        "author": {"name": "Article Bot"},
                        "color": 0x3498DB,
                    }
                ],
                "components": [
                    {"type": 1, "components": [button(f"{r}:{b}") for b in range(5)]} for r in range(5)
                ],
                "allowed_mentions": {"parse": ["users"], "replied_user": False},
                # discord.py sends snowflakes as JSON numbers; Discord accepts them.
                "message_reference": {"message_id": 1200000000000000999, "fail_if_not_exists": False},
            },
        ),
        ("POST", CALLBACK, {"type": 1}),
        ("POST", CALLBACK, {"type": 4, "data": {"content": "Answer", "flags": 64}}),
        ("POST", CALLBACK, {"type": 5, "data": {"flags": 64}}),
        ("POST", CALLBACK, {"type": 6}),
        ("POST", CALLBACK, {"type": 7, "data": {"content": "Updated", "components": []}}),
        ("POST", CALLBACK, {"type": 8, "data": {"choices": [{"name": "a", "value": "a"}]}}),
        (
            "POST",
            CALLBACK,
            {
                "type": 9,
                "data": {
                    "custom_id": "feedback",
                    "title": "Feedback",
                    "components": [
                        {
                            "type": 1,
                            "components": [{"type": 4, "custom_id": "text", "style": 2, "label": "Text"}],
                        }
                    ],
                },
            },
        ),
        ("POST", FOLLOWUP, {"content": "Sources", "flags": 64}),
        ("PATCH", FOLLOWUP + "/messages/@original", {"content": "Edited", "embeds": []}),
        (
            "PUT",
            "/applications/1/guilds/2/commands",
            [
                {
                    "name": "ask",
                    "description": "Ask the article a question",
                    "type": 1,
                    "options": [{"name": "question", "description": "Q", "type": 3, "required": True}],
                    "default_member_permissions": "32",  # discord.py sends a string
                    "nsfw": False,
                },
                {"name": "Ask about this", "type": 3, "default_member_permissions": None},
            ],
        ),
    ],
)
def test_validator_accepts_valid_bodies(discord_api_spec: ApiSpec, method: str, path: str, body: Any) -> None:
    assert problems(discord_api_spec, method, path, body) == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"name": "Ask", "description": "d"}, "chat-input names are 1-32 lower-case"),
        ({"name": "ask", "description": ""}, "description must be 1-100 characters"),
        ({"name": "Ask about this", "type": 3, "description": "d"}, "must have an empty description"),
        (
            {
                "name": "ask",
                "description": "d",
                "options": [
                    {"name": "private", "description": "d", "type": 5},
                    {"name": "question", "description": "d", "type": 3, "required": True},
                ],
            },
            "required options must come before optional ones",
        ),
    ],
)
def test_command_rules_the_spec_cannot_express(body: dict[str, Any], expected: str) -> None:
    assert any(expected in error for error in command_errors(body)), command_errors(body)


def test_valid_commands_break_no_rules() -> None:
    assert command_errors({"name": "ask", "description": "Ask the article a question"}) == []
    assert command_errors({"name": "Ask about this", "type": 3, "description": ""}) == []


async def test_invalid_body_is_answered_400_and_recorded(stand_in, start_client) -> None:
    bot = await start_client(discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.05))
    channel = bot.get_channel(stand_in.world.channel("general").id)

    with pytest.raises(discord.HTTPException) as raised:
        await channel.send("x" * 2001)

    assert raised.value.status == 400
    assert raised.value.code == 50035
    assert "content is 2001 characters" in raised.value.text
    [failure] = stand_in.invalid
    assert failure.operation == "create_message"
    assert stand_in.messages.from_bot() == []
    stand_in.forgive()


def test_world_payloads_match_the_spec_response_schemas(discord_api_spec: ApiSpec) -> None:
    world = default_world()
    guild = world.guild
    payloads = {
        "UserResponse": [user.payload() for user in world.users()],
        "UserPIIResponse": [world.bot.private_payload()],
        "PrivateApplicationResponse": [world.application_payload()],
        "GuildResponse": [guild.payload()],
        "GuildRoleResponse": [role.payload() for role in guild.roles],
        "GuildMemberResponse": [member.payload() for member in guild.members],
        "GuildChannelResponse": [channel.payload() for channel in guild.channels],
        "PrivateChannelResponse": [world.dm_channel(world.user("dora")).payload()],
    }
    for schema, instances in payloads.items():
        validator = discord_api_spec.schema_validator(schema)
        for instance in instances:
            errors = [e.message for e in validator.iter_errors(instance)]
            assert errors == [], f"{schema}: {errors}"


def test_messages_people_post_match_message_response(discord_api_spec: ApiSpec) -> None:
    # What the bot gets back from REST is checked on every answer (check_responses); this
    # covers the messages that only travel over the gateway.
    server = DiscordStandIn(spec=discord_api_spec)
    world = server.world
    first = server.messages.post(world.user("rita"), world.channel("general"), "hi <@1>")
    reply = server.messages.post(
        world.user("ned"), world.channel("general"), f"{world.bot.mention} why?", reply_to=first
    )
    validator = discord_api_spec.schema_validator("MessageResponse")

    for message in (first, reply):
        assert [e.message for e in validator.iter_errors(message)] == []
    assert reply["mentions"][0]["id"] == str(world.bot.id)
