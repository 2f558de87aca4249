"""The stand-in works with discord.py's real HTTP and websocket code.

Each test drives a minimal discord.py client defined here (not the product's bot) through the
stand-in, proving one piece of the protocol end to end.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import time
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands
from stand_in import DiscordStandIn, Upload, default_world, rate_limit, server_error
from stand_in.discord_py import redirect_discord_py
from stand_in.guild import MENTION_EVERYONE
from traffic import DOWNLOAD, routes

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(30)]

MESSAGES = "/channels/{channel_id}/messages"
CALLBACK = "/interactions/{interaction_id}/{interaction_token}/callback"
FOLLOWUP = "/webhooks/{application_id}/{token}"
ORIGINAL = "/webhooks/{application_id}/{token}/messages/@original"


def make_bot(*, members: bool = False, message_content: bool = True) -> commands.Bot:
    """A bare ``commands.Bot`` with a short guild_ready_timeout so on_ready comes quickly."""
    intents = discord.Intents.default()
    intents.members = members
    intents.message_content = message_content
    return commands.Bot(command_prefix="!", intents=intents, guild_ready_timeout=0.05)


async def test_login_ready_and_guild_create_reach_on_ready(stand_in, start_client) -> None:
    bot = make_bot()
    ready_guilds: list[list[discord.Guild]] = []

    @bot.event
    async def on_ready() -> None:
        ready_guilds.append(list(bot.guilds))

    await start_client(bot)

    world = stand_in.world
    assert bot.user is not None
    assert bot.user.id == world.bot.id
    assert bot.application_id == world.application_id
    [guilds] = ready_guilds
    [guild] = guilds
    assert guild.name == "Article Readers"
    assert guild.owner_id == world.user("olivia").id
    assert [c.name for c in guild.text_channels] == ["general", "article-questions", "no-threads"]
    assert {r.name for r in guild.roles} == {"@everyone", "Admin", "Moderator", "Article Bot"}
    assert guild.me.guild_permissions.send_messages
    assert [(r.method, r.path) for r in stand_in.requests] == [
        ("GET", "/users/@me"),
        ("GET", "/oauth2/applications/@me"),
    ]
    [opened] = stand_in.gateway.opened
    assert opened.path == "/gateway"
    assert opened.query == {"v": "10", "encoding": "json", "compress": "zlib-stream"}


async def test_members_intent_brings_realistic_members_and_permissions(stand_in, start_client) -> None:
    bot = await start_client(make_bot(members=True))
    guild = bot.guilds[0]
    member = {m.name: m for m in guild.members}

    assert set(member) == {"olivia", "adam", "mona", "rita", "ned", "article-bot"}
    assert guild.owner == member["olivia"]
    assert member["adam"].guild_permissions.manage_guild
    assert not member["adam"].guild_permissions.administrator
    assert member["mona"].guild_permissions.manage_messages
    assert not member["mona"].guild_permissions.manage_guild
    rita = member["rita"].guild_permissions
    assert rita.send_messages
    assert rita.use_application_commands
    assert not rita.administrator
    assert not rita.manage_guild
    assert not rita.manage_messages
    assert member["ned"].display_name == "Ned"


async def test_tree_sync_to_guild_puts_validated_commands(stand_in, start_client) -> None:
    bot = make_bot()
    guild = discord.Object(id=stand_in.world.guild.id)

    @bot.tree.command(name="ask", description="Ask the article a question", guild=guild)
    @app_commands.describe(question="What you want to know")
    async def ask(interaction: discord.Interaction, question: str, private: bool = False) -> None:
        await interaction.response.send_message(question, ephemeral=private)

    @bot.tree.context_menu(name="Ask about this", guild=guild)
    async def ask_about(interaction: discord.Interaction, message: discord.Message) -> None:
        await interaction.response.send_message(message.content)

    await start_client(bot)
    synced = await bot.tree.sync(guild=guild)

    put = await stand_in.wait_for_request("PUT", "/applications/{application_id}/guilds/{guild_id}/commands")
    assert put.operation == "bulk_set_guild_application_commands"
    assert put.status == 200
    assert [c["name"] for c in put.body] == ["ask", "Ask about this"]
    assert {c.name: c.type for c in synced} == {
        "ask": discord.AppCommandType.chat_input,
        "Ask about this": discord.AppCommandType.message,
    }
    assert all(c.id and c.guild_id == guild.id for c in synced)
    assert stand_in.invalid == []


async def test_message_reply_is_a_validated_post_with_message_reference(stand_in, start_client) -> None:
    bot = make_bot()
    seen: list[discord.Message] = []

    @bot.event
    async def on_message(message: discord.Message) -> None:
        if message.author.bot:
            return
        seen.append(message)
        await message.reply(f"You said: {message.content}")

    await start_client(bot)
    posted = await stand_in.post_message("rita", "What is the article about?")
    post = await stand_in.wait_for_request("POST", MESSAGES)

    [message] = seen
    assert message.content == "What is the article about?"
    assert message.author.name == "rita"
    assert isinstance(message.author, discord.Member)
    assert post.body["content"] == "You said: What is the article about?"
    assert int(post.body["message_reference"]["message_id"]) == int(posted["id"])
    assert post.status == 200
    assert post.response["type"] == 19  # REPLY
    assert post.response["referenced_message"]["id"] == posted["id"]
    assert post.response["author"]["id"] == str(stand_in.world.bot.id)
    assert stand_in.invalid == []


async def test_without_message_content_intent_guild_content_arrives_empty(stand_in, start_client) -> None:
    bot = make_bot(message_content=False)
    contents: list[str] = []

    @bot.event
    async def on_message(message: discord.Message) -> None:
        contents.append(message.content)

    await start_client(bot)
    await stand_in.post_message("rita", "no intent, no content")
    await stand_in.post_message("rita", f"{stand_in.world.bot.mention} mentions still arrive")
    await stand_in.post_message("dora", "DMs still arrive", dm=True)
    await stand_in.wait_until(lambda: len(contents) == 3, timeout=2, what="three messages")

    assert contents == ["", f"{stand_in.world.bot.mention} mentions still arrive", "DMs still arrive"]


async def test_everyone_and_role_mentions_are_flagged_only_when_they_ping(stand_in, start_client) -> None:
    bot = make_bot()
    seen: list[tuple[bool, list[str]]] = []

    @bot.event
    async def on_message(message: discord.Message) -> None:
        seen.append((message.mention_everyone, [role.name for role in message.role_mentions]))

    await start_client(bot)
    guild = stand_in.world.guild
    admin = next(role for role in guild.roles if role.name == "Admin")
    posted = await stand_in.post_message("rita", f"@everyone <@&{admin.id}> <@&404> look")
    await stand_in.post_message("rita", "no one in particular, not even everyone@example.com")
    await stand_in.post_message("dora", "@here in a DM", dm=True)
    await stand_in.wait_until(lambda: len(seen) == 3, timeout=2, what="three messages")

    assert (posted["mention_everyone"], posted["mention_roles"]) == (True, [str(admin.id)])
    assert seen == [(True, ["Admin"]), (False, []), (False, [])]


def test_mentions_without_the_permission_do_not_ping(discord_api_spec) -> None:
    world = default_world()
    guild = world.guild
    muted = dataclasses.replace(guild.everyone, permissions=guild.everyone.permissions & ~MENTION_EVERYONE)
    guild = dataclasses.replace(guild, roles=(muted, *guild.roles[1:]))
    server = DiscordStandIn(dataclasses.replace(world, guilds=(guild,)), spec=discord_api_spec)
    admin_role = guild.roles[1]

    message = server.messages.post(
        world.user("rita"), world.channel("general"), f"@everyone <@&{admin_role.id}>"
    )

    assert (message["mention_everyone"], message["mention_roles"]) == (False, [])


async def test_slash_command_reaches_the_tree_and_answers_via_callback(stand_in, start_client) -> None:
    bot = make_bot()
    guild = discord.Object(id=stand_in.world.guild.id)
    calls: list[tuple[str, str, bool]] = []

    @bot.tree.command(name="ask", description="Ask the article a question", guild=guild)
    async def ask(interaction: discord.Interaction, question: str, private: bool = False) -> None:
        calls.append((interaction.user.name, question, interaction.permissions.manage_guild))
        await interaction.response.send_message(f"Answer to {question}", ephemeral=private)

    await start_client(bot)
    await bot.tree.sync(guild=guild)
    by_rita = await stand_in.slash_command("ask", {"question": "Who?"}, user="rita")
    by_adam = await stand_in.slash_command("ask", {"question": "Why?", "private": True}, user="adam")
    await stand_in.wait_for_answer(by_rita)
    await stand_in.wait_for_answer(by_adam)

    assert calls == [("rita", "Who?", False), ("adam", "Why?", True)]
    assert by_rita.response_type == 4
    assert by_rita.original["content"] == "Answer to Who?"
    assert not by_rita.ephemeral
    assert by_adam.ephemeral
    assert by_rita.response_delay is not None
    assert by_rita.response_delay < 1
    [callback, _] = stand_in.requests_to("POST", CALLBACK)
    assert callback.query == {"with_response": "1"}
    assert callback.response["resource"]["message"]["content"] == "Answer to Who?"


async def test_defer_then_followup_and_edit_original(stand_in, start_client) -> None:
    bot = make_bot()
    guild = discord.Object(id=stand_in.world.guild.id)

    @bot.tree.command(name="ask", description="Ask the article a question", guild=guild)
    async def ask(interaction: discord.Interaction, question: str) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.edit_original_response(content=f"Answer: {question}")
        followup = await interaction.followup.send("Sources: paragraph 3", wait=True)
        assert followup.content == "Sources: paragraph 3"

    await start_client(bot)
    await bot.tree.sync(guild=guild)
    sent = await stand_in.slash_command("ask", {"question": "When?"})
    await stand_in.wait_for_request("POST", FOLLOWUP)

    assert sent.response_type == 5
    assert sent.original["content"] == "Answer: When?"
    assert not sent.original["flags"] & 128  # no longer "thinking"
    assert [m["content"] for m in sent.followups] == ["Sources: paragraph 3"]
    methods = [(r.method, r.operation) for r in stand_in.requests if r.path.startswith(("/int", "/web"))]
    assert methods == [
        ("POST", "create_interaction_response"),
        ("PATCH", "update_original_webhook_message"),
        ("POST", "execute_webhook"),
    ]


async def test_message_context_menu_gets_the_resolved_message(stand_in, start_client) -> None:
    bot = make_bot()
    guild = discord.Object(id=stand_in.world.guild.id)
    targets: list[tuple[str, str]] = []

    @bot.tree.context_menu(name="Ask about this", guild=guild)
    async def ask_about(interaction: discord.Interaction, message: discord.Message) -> None:
        targets.append((message.author.name, message.content))
        await interaction.response.send_message("Looking into it", ephemeral=True)

    await start_client(bot)
    await bot.tree.sync(guild=guild)
    posted = await stand_in.post_message("ned", "Is the budget figure right?")
    sent = await stand_in.message_command("Ask about this", posted, user="mona")
    await stand_in.wait_for_answer(sent)

    assert targets == [("ned", "Is the budget figure right?")]
    assert sent.ephemeral
    assert sent.original["interaction_metadata"]["target_message_id"] == posted["id"]


async def test_button_press_reaches_the_view_and_updates_the_message(stand_in, start_client) -> None:
    bot = make_bot()
    pressed: list[str] = []

    class MoreView(discord.ui.View):
        @discord.ui.button(label="Show more", custom_id="answer:more")
        async def more(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
            pressed.append(interaction.user.name)
            await interaction.response.edit_message(content="The full answer", view=None)

    await start_client(bot)
    channel = bot.get_channel(stand_in.world.channel("general").id)
    sent_message = await channel.send("A short answer", view=MoreView(timeout=None))
    stored = stand_in.messages.by_id[sent_message.id]
    sent = await stand_in.press_button(stored, "answer:more", user="rita")
    await stand_in.wait_for_answer(sent)

    assert pressed == ["rita"]
    assert sent.response_type == 7
    assert stored["content"] == "The full answer"
    assert stored["components"] == []


async def test_dm_slash_command_has_user_not_member(stand_in, start_client) -> None:
    bot = make_bot()
    seen: list[Any] = []

    @bot.tree.command(name="about", description="What this bot does")
    async def about(interaction: discord.Interaction) -> None:
        seen.append((type(interaction.user), interaction.guild_id, interaction.context.dm_channel))
        await interaction.response.send_message("I answer questions about one article.")

    await start_client(bot)
    await bot.tree.sync()
    sent = await stand_in.slash_command("about", user="dora", dm=True)
    await stand_in.wait_for_answer(sent)

    assert seen == [(discord.User, None, True)]
    assert "member" not in sent.payload
    assert sent.payload["user"]["username"] == "dora"


async def test_close_4000_resumes_and_replays_missed_events(stand_in, start_client) -> None:
    bot = make_bot()
    seen: list[str] = []
    resumed = asyncio.Event()

    @bot.event
    async def on_message(message: discord.Message) -> None:
        seen.append(message.content)

    @bot.event
    async def on_resumed() -> None:
        resumed.set()

    await start_client(bot)
    await stand_in.close_gateway(4000)
    await stand_in.post_message("rita", "sent while the socket was down")
    session = await stand_in.wait_for_resume()
    await asyncio.wait_for(resumed.wait(), timeout=2)
    await stand_in.post_message("rita", "sent after RESUMED")
    await stand_in.wait_until(lambda: len(seen) == 2, timeout=2, what="both messages")

    assert seen == ["sent while the socket was down", "sent after RESUMED"]
    assert session.resumes == 1
    assert [o.path for o in stand_in.gateway.opened] == ["/gateway", "/gateway-resume"]
    resume = [f for f in stand_in.gateway.received if f.op == 6]
    assert [f.data["session_id"] for f in resume] == [session.id]
    assert [f["t"] for f in session.dispatches].count("READY") == 1


@pytest.mark.parametrize("is_global", [False, True], ids=["route", "global"])
async def test_429_on_messages_is_retried_and_the_message_arrives_once(
    stand_in, start_client, is_global: bool
) -> None:
    bot = await start_client(make_bot())
    stand_in.inject(rate_limit("POST", MESSAGES, retry_after=0.2, is_global=is_global))
    channel = bot.get_channel(stand_in.world.channel("general").id)

    started = time.monotonic()
    await channel.send("Answer after a rate limit")

    first, second = stand_in.requests_to("POST", MESSAGES)
    assert (first.status, second.status) == (429, 200)
    assert first.fault is not None
    assert second.fault is None
    assert second.received_at - first.answered_at >= 0.2
    assert time.monotonic() - started >= 0.2
    assert [m["content"] for m in stand_in.messages.from_bot()] == ["Answer after a rate limit"]


async def test_502_on_followup_is_retried(stand_in, start_client) -> None:
    bot = make_bot()
    guild = discord.Object(id=stand_in.world.guild.id)

    @bot.tree.command(name="ask", description="Ask the article a question", guild=guild)
    async def ask(interaction: discord.Interaction) -> None:
        await interaction.response.defer()
        await interaction.followup.send("made it")

    await start_client(bot)
    await bot.tree.sync(guild=guild)
    stand_in.inject(server_error("POST", FOLLOWUP, status=502))
    sent = await stand_in.slash_command("ask")
    await stand_in.wait_until(lambda: sent.followups, timeout=4, what="the follow-up")

    assert [r.status for r in stand_in.requests_to("POST", FOLLOWUP)] == [502, 200]
    assert [m["content"] for m in sent.followups] == ["made it"]


async def test_unknown_routes_are_flagged(stand_in, start_client) -> None:
    bot = await start_client(make_bot())

    with pytest.raises(discord.NotFound):
        await bot.fetch_guild(stand_in.world.guild.id, with_counts=False)

    [request] = stand_in.unexpected
    assert (request.method, request.path) == ("GET", f"/guilds/{stand_in.world.guild.id}")
    assert request.response == {"message": "404: Not Found", "code": 0}
    with pytest.raises(AssertionError, match=r"unexpected route: GET /guilds/"):
        stand_in.assert_clean()
    stand_in.forgive()


async def test_answering_twice_or_too_late_is_a_protocol_error(stand_in, start_client) -> None:
    stand_in.interactions.deadline = 0.3
    bot = make_bot()
    guild = discord.Object(id=stand_in.world.guild.id)
    late_errors: list[int] = []

    @bot.tree.command(name="quick", description="Answers at once", guild=guild)
    async def quick(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("one")

    @bot.tree.command(name="slow", description="Answers too late", guild=guild)
    async def slow(interaction: discord.Interaction) -> None:
        await asyncio.sleep(0.4)
        try:
            await interaction.response.send_message("late")
        except discord.NotFound as error:
            late_errors.append(error.code)

    await start_client(bot)
    await bot.tree.sync(guild=guild)
    answered = await stand_in.wait_for_answer(await stand_in.slash_command("quick"))
    # discord.py refuses to answer twice itself, so the second answer is sent by hand.
    url = f"{stand_in.api_base_url}/interactions/{answered.id}/{answered.token}/callback"
    async with aiohttp.ClientSession() as session:
        second = await session.post(url, json={"type": 4, "data": {"content": "two"}})
        assert (second.status, (await second.json())["code"]) == (400, 40060)
        # discord.py parses a body only when the Content-Type is exactly this.
        assert second.headers["Content-Type"] == "application/json"
    await stand_in.slash_command("slow")
    await stand_in.wait_until(lambda: late_errors, timeout=3, what="the late answer's error")

    assert late_errors == [10062]
    assert len(stand_in.protocol_errors) == 2
    assert "answered twice" in stand_in.protocol_errors[0]
    assert "answered after" in stand_in.protocol_errors[1]
    stand_in.forgive()


async def test_stand_in_rejects_unregistered_commands(stand_in: DiscordStandIn) -> None:
    with pytest.raises(LookupError, match="not registered"):
        stand_in.interactions.slash_command(
            "ask", {}, user=stand_in.world.user("rita"), channel=stand_in.world.channel("general")
        )


async def test_file_upload_is_multipart_with_a_validated_payload_json(stand_in, start_client) -> None:
    bot = await start_client(make_bot())
    channel = bot.get_channel(stand_in.world.channel("general").id)

    sent = await channel.send("The article", file=discord.File(io.BytesIO(b"text"), "article.txt"))

    [post] = stand_in.requests_to("POST", MESSAGES)
    assert post.headers["Content-Type"].startswith("multipart/form-data")
    assert post.body["content"] == "The article"
    assert [(f.filename, f.data) for f in post.files] == [("article.txt", b"text")]
    [attachment] = sent.attachments
    assert (attachment.filename, attachment.size) == ("article.txt", 4)


async def test_user_command_answered_with_a_modal_then_submitted(stand_in, start_client) -> None:
    bot = make_bot()
    guild = discord.Object(id=stand_in.world.guild.id)
    submitted: list[tuple[str, str, str]] = []

    class Feedback(discord.ui.Modal, title="Feedback"):
        text = discord.ui.TextInput(label="What was wrong?", custom_id="feedback:text")
        where = discord.ui.Label(
            text="Where?", component=discord.ui.TextInput(custom_id="feedback:where", required=False)
        )

        async def on_submit(self, interaction: discord.Interaction) -> None:
            submitted.append((interaction.user.name, self.text.value, self.where.component.value))
            await interaction.response.send_message("Thanks", ephemeral=True)

    @bot.tree.context_menu(name="Report answer", guild=guild)
    async def report(interaction: discord.Interaction, member: discord.Member) -> None:
        await interaction.response.send_modal(Feedback())

    await start_client(bot)
    await bot.tree.sync(guild=guild)
    opened = await stand_in.user_command("Report answer", "article-bot", user="adam")
    await stand_in.wait_for_answer(opened)
    assert opened.response_type == 9
    submit = await stand_in.submit_modal(
        opened, {"feedback:text": "Wrong date", "feedback:where": "Paragraph 2"}
    )
    await stand_in.wait_for_answer(submit)

    assert submitted == [("adam", "Wrong date", "Paragraph 2")]
    assert submit.ephemeral


async def test_members_intent_requests_and_gets_member_chunks(stand_in, start_client) -> None:
    bot = await start_client(make_bot(members=True))

    [request] = [f for f in stand_in.gateway.received if f.op == 8]
    assert int(request.data["guild_id"]) == stand_in.world.guild.id
    assert bot.guilds[0].chunked


async def test_privileged_intent_not_enabled_closes_with_4014(stand_in, start_client) -> None:
    intents = discord.Intents.default()
    intents.presences = True  # not switched on in the stand-in's "developer portal"

    with pytest.raises(discord.PrivilegedIntentsRequired):
        await start_client(discord.Client(intents=intents))


async def test_auto_sharded_client_uses_gateway_bot(stand_in, start_client) -> None:
    bot = await start_client(
        discord.AutoShardedClient(intents=discord.Intents.default(), guild_ready_timeout=0.05)
    )

    assert bot.shard_count == 1
    assert [g.name for g in bot.guilds] == ["Article Readers"]
    assert ("GET", "/gateway/bot") in [(r.method, r.path) for r in stand_in.requests]
    [identify] = [f for f in stand_in.gateway.received if f.op == 2]
    assert identify.data["shard"] == [0, 1]


async def test_heartbeats_are_acknowledged(discord_api_spec) -> None:
    async with DiscordStandIn(spec=discord_api_spec, heartbeat_interval_ms=50) as server:
        with redirect_discord_py(server.api_base_url, server.gateway_url):
            bot = make_bot()
            task = asyncio.create_task(bot.start(server.token))
            await server.wait_until(
                lambda: sum(f.op == 1 for f in server.gateway.received) >= 3,
                timeout=3,
                what="three heartbeats",
            )
            latency = bot.latency
            await bot.close()
            await task
        assert latency < 1
        server.assert_clean()


@pytest.mark.parametrize("stand_in_options", [{"identify_window": 0.05}])
async def test_invalid_session_makes_the_client_identify_again(stand_in, start_client) -> None:
    bot = make_bot()
    readies: list[str] = []

    async def identify_window_delay(shard_id: int | None, *, initial: bool = False) -> None:
        """discord.py waits 5 s, Discord's identify window, before a repeated IDENTIFY; the
        stand-in's window is 0.05 s here."""
        if not initial:
            await asyncio.sleep(0.05)

    bot.before_identify_hook = identify_window_delay

    @bot.event
    async def on_ready() -> None:
        readies.append(stand_in.gateway.current_session().id)

    await start_client(bot)
    stand_in.gateway.invalidate_sessions(resumable=False)
    await stand_in.wait_until(lambda: len(readies) == 2, timeout=3, what="a second READY")

    assert readies[0] != readies[1]
    assert [f.op for f in stand_in.gateway.received if f.op in (2, 6)] == [2, 2]


async def test_reconnect_request_makes_the_client_resume(stand_in, start_client) -> None:
    await start_client(make_bot())

    stand_in.gateway.send_reconnect()
    session = await stand_in.wait_for_resume()

    assert session.resumes == 1
    assert [o.path for o in stand_in.gateway.opened] == ["/gateway", "/gateway-resume"]


# -- attachment options and autocomplete ----------------------------------------------------------

TITLES = ["Philosophy of Mind", "Philately Today", "Physics for Poets"]


def title_choices(current: str) -> list[app_commands.Choice[str]]:
    """The titles containing what the user typed, as autocomplete choices."""
    return [app_commands.Choice(name=t, value=t) for t in TITLES if current.lower() in t.lower()]


async def test_attachment_option_is_resolved_and_read_from_the_stand_in(
    stand_in, start_client, discord_api_spec
) -> None:
    bot = make_bot()
    guild = discord.Object(id=stand_in.world.guild.id)
    read: list[tuple[str, int, str | None, bytes]] = []

    @bot.tree.command(name="upload", description="Add a file", guild=guild)
    async def upload(interaction: discord.Interaction, file: discord.Attachment) -> None:
        read.append((file.filename, file.size, file.content_type, await file.read()))
        await interaction.response.send_message(f"Read {file.filename}")

    await start_client(bot)
    await bot.tree.sync(guild=guild)
    story = Upload("story one.txt", b"Once upon a time", content_type="text/plain; charset=utf-8")
    sent = await stand_in.slash_command("upload", {"file": story}, user="olivia")
    await stand_in.wait_for_answer(sent)

    assert read == [("story one.txt", 16, "text/plain; charset=utf-8", b"Once upon a time")]
    [option] = sent.payload["data"]["options"]
    attachment = sent.payload["data"]["resolved"]["attachments"][option["value"]]
    assert option == {"name": "file", "type": 11, "value": attachment["id"]}
    assert attachment["url"].startswith(stand_in.base_url + "/attachments/")
    assert attachment["url"].endswith("/story%20one.txt")
    assert attachment["ephemeral"] is True
    assert list(discord_api_spec.schema_validator("AttachmentResponse").iter_errors(attachment)) == []
    [download] = stand_in.requests_to("GET", DOWNLOAD)
    assert (download.status, download.response) == (200, b"Once upon a time")
    assert "Authorization" not in download.headers
    assert routes(stand_in)[-2:] == [("GET", DOWNLOAD), ("POST", CALLBACK)]


async def test_declared_upload_size_unknown_files_and_download_faults(stand_in, start_client) -> None:
    bot = make_bot()
    guild = discord.Object(id=stand_in.world.guild.id)
    outcomes: list[str] = []

    @bot.tree.command(name="upload", description="Add a file", guild=guild)
    async def upload(interaction: discord.Interaction, file: discord.Attachment) -> None:
        if file.size > interaction.filesize_limit:
            outcomes.append(f"refused {file.size}")
        else:
            try:
                outcomes.append(f"read {len(await file.read())}")
            except discord.HTTPException as error:
                outcomes.append(f"failed {error.status}")
        await interaction.response.send_message(outcomes[-1])

    await start_client(bot)
    await bot.tree.sync(guild=guild)
    big = Upload("big.pdf", b"%PDF-1.7", size=60_000_000)
    await stand_in.wait_for_answer(await stand_in.slash_command("upload", {"file": big}))
    stand_in.inject(server_error("GET", DOWNLOAD, status=503))
    await stand_in.wait_for_answer(await stand_in.slash_command("upload", {"file": Upload("a.md", b"# A")}))
    async with aiohttp.ClientSession() as session:
        unknown = await session.get(f"{stand_in.base_url}/attachments/1/2/nothing.txt")

    assert outcomes == ["refused 60000000", "failed 503"]
    assert unknown.status == 404
    assert [r.status for r in stand_in.requests_to("GET", DOWNLOAD)] == [503, 404]
    assert stand_in.cdn.files[next(iter(stand_in.cdn.files))].content_type == "application/pdf"


async def test_autocomplete_sends_what_is_typed_and_reads_the_choices(stand_in, start_client) -> None:
    bot = make_bot()
    guild = discord.Object(id=stand_in.world.guild.id)
    typed: list[tuple[str, str, Any]] = []

    @bot.tree.command(name="ask", description="Ask an article a question", guild=guild)
    async def ask(interaction: discord.Interaction, question: str, article: str, top: int = 3) -> None:
        await interaction.response.send_message(f"{article}: {question}")

    @ask.autocomplete("article")
    async def article_titles(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        typed.append((current, interaction.namespace.question, interaction.namespace.top))
        return title_choices(current)

    await start_client(bot)
    await bot.tree.sync(guild=guild)
    sent = await stand_in.autocomplete("ask", {"article": "phil", "top": 5}, focused="article", user="rita")
    await stand_in.wait_for_answer(sent)

    assert typed == [("phil", None, "5")]  # no question yet; an integer arrives as typed text
    assert sent.payload["type"] == 4
    assert sent.payload["data"]["options"] == [
        {"name": "article", "type": 3, "value": "phil", "focused": True},
        {"name": "top", "type": 4, "value": "5"},
    ]
    assert sent.response_type == 8
    assert sent.choices == [
        {"name": "Philosophy of Mind", "value": "Philosophy of Mind"},
        {"name": "Philately Today", "value": "Philately Today"},
    ]
    assert sent.original is None
    with pytest.raises(ValueError, match="has no autocomplete"):
        await stand_in.autocomplete("ask", {"question": "wh"}, focused="question")


@pytest.mark.parametrize(
    ("choices", "problem"),
    [
        ([app_commands.Choice(name=f"Article {n}", value=str(n)) for n in range(26)], "26 choices"),
        ([app_commands.Choice(name="x" * 101, value="x")], "name is 101 characters"),
        ([app_commands.Choice(name="Mind", value="m" * 101)], "value is 101 characters"),
        ([app_commands.Choice(name="One", value=1)], "does not fit option 'article'"),
    ],
    ids=["26-choices", "long-name", "long-value", "wrong-type"],
)
async def test_autocomplete_choices_breaking_discords_limits_are_invalid(
    stand_in, start_client, choices: list[app_commands.Choice[Any]], problem: str
) -> None:
    bot = make_bot()
    guild = discord.Object(id=stand_in.world.guild.id)

    @bot.tree.command(name="ask", description="Ask an article a question", guild=guild)
    async def ask(interaction: discord.Interaction, article: str) -> None:
        await interaction.response.send_message(article)

    @ask.autocomplete("article")
    async def article_titles(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[Any]]:
        return choices

    await start_client(bot)
    await bot.tree.sync(guild=guild)
    sent = await stand_in.autocomplete("ask", {"article": ""}, focused="article")
    callback = await stand_in.wait_for_request("POST", CALLBACK)

    assert callback.status == 400
    assert not sent.acknowledged
    assert sent.choices is None
    [failure] = stand_in.invalid
    assert any(problem in error for error in failure.errors), failure.errors
    stand_in.forgive()


async def test_autocomplete_answered_with_a_message_twice_or_followed_up_is_a_protocol_error(
    stand_in, start_client
) -> None:
    bot = make_bot()
    guild = discord.Object(id=stand_in.world.guild.id)
    errors: list[int] = []

    @bot.tree.command(name="ask", description="Ask an article a question", guild=guild)
    async def ask(interaction: discord.Interaction, article: str) -> None:
        await interaction.response.send_message(article)

    @ask.autocomplete("article")
    async def article_titles(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        if current == "message":
            try:
                await interaction.response.send_message("not a list of choices")
            except discord.HTTPException as error:
                errors.append(error.code)
            return []
        await interaction.response.autocomplete(title_choices(current))
        try:
            await interaction.followup.send("and a message")
        except discord.NotFound as error:
            errors.append(error.code)
        return []

    await start_client(bot)
    await bot.tree.sync(guild=guild)
    await stand_in.autocomplete("ask", {"article": "message"}, focused="article")
    await stand_in.wait_until(lambda: errors, what="the refused message")
    answered = await stand_in.autocomplete("ask", {"article": "phys"}, focused="article")
    await stand_in.wait_until(lambda: len(errors) == 2, what="the refused follow-up")
    url = f"{stand_in.api_base_url}/interactions/{answered.id}/{answered.token}/callback"
    async with aiohttp.ClientSession() as session:
        second = await session.post(url, json={"type": 8, "data": {"choices": []}})

    assert errors == [50035, 10015]
    assert second.status == 400
    assert answered.choices == [{"name": "Physics for Poets", "value": "Physics for Poets"}]
    assert len(stand_in.protocol_errors) == 3
    assert "callback type 4 is not allowed for interaction type 4" in stand_in.protocol_errors[0]
    assert "has no messages" in stand_in.protocol_errors[1]
    assert "answered twice" in stand_in.protocol_errors[2]
    stand_in.forgive()


async def test_subcommands_take_attachments_and_autocomplete(stand_in, start_client) -> None:
    bot = make_bot()
    guild = discord.Object(id=stand_in.world.guild.id)
    article = app_commands.Group(name="article", description="Manage articles", guild_ids=[guild.id])
    added: list[tuple[str, bytes]] = []

    @article.command(name="add", description="Add an article from a file")
    async def add(
        interaction: discord.Interaction, file: discord.Attachment, title: str | None = None
    ) -> None:
        added.append((title or file.filename, await file.read()))
        await interaction.response.send_message("Added", ephemeral=True)

    @article.command(name="remove", description="Remove an article")
    async def remove(interaction: discord.Interaction, title: str) -> None:
        await interaction.response.send_message(f"Removed {title}", ephemeral=True)

    @remove.autocomplete("title")
    async def removable(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return title_choices(current)

    bot.tree.add_command(article)
    await start_client(bot)
    await bot.tree.sync(guild=guild)
    story = Upload("story.txt", b"A story", content_type="text/plain")
    added_one = await stand_in.slash_command("article add", {"file": story, "title": "Story"}, user="olivia")
    await stand_in.wait_for_answer(added_one)
    typing = await stand_in.autocomplete("article remove", {"title": "po"}, focused="title", user="olivia")
    await stand_in.wait_for_answer(typing)

    assert added == [("Story", b"A story")]
    [sub] = added_one.payload["data"]["options"]
    assert (sub["name"], [o["type"] for o in sub["options"]]) == ("add", [11, 3])
    [sub] = typing.payload["data"]["options"]
    assert sub == {
        "name": "remove",
        "type": 1,
        "options": [{"name": "title", "type": 3, "value": "po", "focused": True}],
    }
    assert typing.choices == [{"name": "Physics for Poets", "value": "Physics for Poets"}]
    assert ("GET", DOWNLOAD) in routes(stand_in)
