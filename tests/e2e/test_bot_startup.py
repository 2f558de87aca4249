"""`python run_bot.py` as an operator starts it, configured only by its environment: it logs in,
syncs its commands to DISCORD_GUILD_IDS, answers, and stops cleanly on SIGTERM."""

from __future__ import annotations

import signal

import pytest
from stand_in import DiscordStandIn
from traffic import DEFERRED_ANSWER, DIRECT_ANSWER, LOGIN, answer_embed, routes

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(90)]

SUB_COMMAND, STRING, INTEGER, BOOLEAN = 1, 3, 4, 5
CHAT_INPUT, MESSAGE = 1, 3
MANAGE_GUILD = str(1 << 5)
PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15)  # members, presences, message content


def command_shapes(commands: list[dict]) -> dict[str, tuple]:
    """name → (type, default_member_permissions as text, [(option, type, required, min and max
    length)])."""
    return {
        command["name"]: (
            command.get("type", CHAT_INPUT),
            str(command.get("default_member_permissions")),
            [
                (o["name"], o["type"], o.get("required", False), o.get("min_length"), o.get("max_length"))
                for o in command.get("options") or []
            ],
        )
        for command in commands
    }


async def test_run_bot_logs_in_syncs_its_commands_answers_and_exits_0_on_sigterm(
    stand_in: DiscordStandIn, start_bot_process
) -> None:
    bot = await start_bot_process()
    guild = stand_in.world.guild

    assert routes(stand_in) == LOGIN, bot.log()
    put = stand_in.requests[2]
    assert put.path == f"/applications/{stand_in.world.application_id}/guilds/{guild.id}/commands"
    assert command_shapes(put.body) == {
        "ask": (
            CHAT_INPUT,
            "None",
            [
                ("question", STRING, True, 1, 500),
                ("private", BOOLEAN, False, None, None),
                ("article", STRING, False, 1, 100),
                ("thread", BOOLEAN, False, None, None),
            ],
        ),
        "about": (CHAT_INPUT, "None", []),
        "reindex": (CHAT_INPUT, MANAGE_GUILD, []),
        "insights": (CHAT_INPUT, MANAGE_GUILD, [("days", INTEGER, False, None, None)]),
        "article": (
            CHAT_INPUT,
            "None",  # /article list is anyone's; add and remove check for the bot's admins at run time
            [(name, SUB_COMMAND, False, None, None) for name in ("add", "list", "remove")],
        ),
        "Ask the article": (MESSAGE, "None", []),
    }
    assert stand_in.commands.scopes.keys() == {guild.id}  # nothing global at start
    [identify] = [frame for frame in stand_in.gateway.received if frame.op == 2]
    assert identify.data["token"] == stand_in.token
    assert identify.data["intents"] & PRIVILEGED_INTENTS == 0

    sent = await stand_in.slash_command("ask", {"question": "When does the contract expire?"}, user="rita")
    await stand_in.wait_for_answer(sent, timeout=10)
    embed = answer_embed(sent)
    assert "expires Aug. 31" in embed["description"]
    assert routes(stand_in)[len(LOGIN) :] in (DIRECT_ANSWER, DEFERRED_ANSWER)

    code = await bot.stop(signal.SIGTERM)
    log = bot.log()
    assert code == 0, log
    assert f"synced 6 commands to guild {guild.id}" in log
    assert "connected as article-bot" in log
    assert "stopping: closing the Discord connection" in log
    assert "Traceback" not in log
    assert " ERROR " not in log
    assert " WARNING " not in log
    assert stand_in.token not in log
    assert stand_in.gateway.current_session().connection is None  # it closed its socket
