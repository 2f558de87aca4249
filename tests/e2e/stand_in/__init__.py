"""A local Discord for end-to-end tests: Discord's v10 REST API and gateway on 127.0.0.1.

The bot under test runs its real discord.py code against an aiohttp server that answers like
Discord and is stricter than a mock: every JSON body the bot sends is validated against
Discord's OpenAPI spec (``tests/e2e/discord_api_spec``) plus the limits the spec leaves out
(2000-character content, the 6000-character embed budget, 5 rows of 5 buttons...), routes the
stand-in does not know are answered 404 and flagged, and interaction rules are enforced (one
acknowledgement, within 3 s; follow-ups only after it). The ``stand_in`` fixture fails the test
at teardown listing every such problem (``stand_in.problems()``).

Pointing discord.py 2.7 at it (process-wide class attributes; see ``discord_py.py``)::

    discord.http.Route.BASE = settings.api_base_url  # http://127.0.0.1:PORT/api/v10
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.gateway_url)

``Route.BASE`` covers REST, webhooks and interaction callbacks. A plain ``Client`` or
``commands.Bot`` connects to ``DEFAULT_GATEWAY`` without asking ``GET /gateway/bot`` (only an
``AutoShardedClient`` without ``shard_count`` asks, and the stand-in answers with its own URL);
resumes use READY's ``resume_gateway_url``, which points back here. ``stand_in.environment()``
gives ``DISCORD_TOKEN``, ``DISCORD_API_BASE_URL``, ``DISCORD_GATEWAY_URL`` and
``DISCORD_GUILD_IDS`` for a bot running as a subprocess.

What exists (``world.py``): the bot ``article-bot`` in the guild "Article Readers" with
``#general``, ``#article-questions`` and ``#no-threads`` (whose @everyone overwrite denies Create
Public Threads); users ``olivia`` (owner), ``adam`` (Admin role: Manage Server), ``mona``
(Moderator: Manage Messages only), ``rita`` and ``ned`` (plain members with Discord's real default
@everyone permissions) and ``dora`` (DMs only). Message content, members and guild payloads follow
the spec's response schemas. Permissions are computed per channel as Discord documents it (roles,
then the channel's overwrites: @everyone's, the member's roles', the member's; ``FakeOverwrite``),
for the bot's requests (403 50013, or 50001 Missing Access where it cannot see the channel) and
for what interactions carry: ``member`` with its permissions in the channel (``user`` in DMs),
``app_permissions``, ``channel``, resolved members and channels, ``context``,
``authorizing_integration_owners`` and the rest discord.py reads.

Covered REST (everything else is "unexpected"): ``/users/@me``, ``/oauth2/applications/@me``,
``/gateway``, ``/gateway/bot``; global and guild application commands (list, bulk PUT, create,
get, edit, delete); channels and threads (get, create DM), messages (send incl. multipart uploads
and replies, get, list, edit, delete), threads started from a message, typing, own reactions,
guild member lookup; interaction
callbacks (types 1, 4, 5, 6, 7, 8, 9), follow-ups and ``@original``/``{message_id}`` webhook
messages (get, edit, delete). Outside ``/api/v10``, the CDN (``cdn.py``): ``GET`` on
``CDN_ROUTE``, ``/attachments/{channel_id}/{attachment_id}/{filename}``, serves the files users
attach to commands (404 for unknown ones), without a token, recorded and open to faults like
the API. Gateway: see ``gateway.py`` (identify, resume with replay, zlib-stream, intents,
heartbeats, member chunks, close codes, op 7 and op 9 on demand).

In a test (fixtures in ``tests/e2e/conftest.py``)::

    async def test_answers_a_question(stand_in, start_client):
        bot = await start_client(make_my_bot())            # login, READY, GUILD_CREATE done
        await bot.tree.sync(guild=discord.Object(stand_in.world.guild.id))
        sent = await stand_in.slash_command("ask", {"question": "Who?"}, user="rita")
        await stand_in.wait_for_answer(sent)              # deferred answers: once filled in
        assert "Who" in sent.original["content"]

        message = await stand_in.post_message("ned", "@bot what happened?")
        reply = await stand_in.wait_for_request("POST", "/channels/{channel_id}/messages")
        assert reply.body["message_reference"]["message_id"] == int(message["id"])

        story = Upload("story.txt", b"Once upon a time", content_type="text/plain")
        sent = await stand_in.slash_command("article add", {"file": story}, user="olivia")
        await stand_in.wait_for_answer(sent)              # the bot's file.read() was a GET here
        assert len(stand_in.requests_to("GET", CDN_ROUTE)) == 1

        typing = await stand_in.autocomplete("ask", {"article": "phil"}, focused="article")
        await stand_in.wait_for_answer(typing)
        assert typing.choices == [{"name": "Philosophy", "value": "philosophy"}]

        stand_in.inject(rate_limit("POST", "/channels/{channel_id}/messages", retry_after=0.2))
        await stand_in.close_gateway(4000)                # the client resumes
        await stand_in.wait_for_resume()

Attachment options: an ``Upload(filename, data, content_type=None, size=None)`` value becomes
``{"name", "type": 11, "value": id}`` plus ``data.resolved.attachments[id]`` (id, filename, size,
url, proxy_url, content_type, ``ephemeral: true``); ``url`` and ``proxy_url`` point at the stand-in.
``size`` declares the size Discord reports (default ``len(data)``), so a 60 MB upload can be
tested with a few bytes; the CDN serves ``data`` whatever the declared size.

Threads (``threads.py``): ``POST /channels/{channel_id}/messages/{message_id}/threads`` starts a
public thread (type 11; 10 in an announcement channel) whose id is the message's, answered 201
with the bot's thread member, and refused as Discord refuses it (10003, 10008, 50001, 50013 without
Create Public Threads, 50024 for another channel type, 160004 for a message that has a thread);
THREAD_CREATE (``newly_created``), THREAD_MEMBERS_UPDATE for the bot's own joining and the
starter's MESSAGE_UPDATE (with ``thread`` and the HAS_THREAD flag) follow. A thread is a channel
everywhere (``world.channel`` finds it by id or name): messages there need Send Messages in
Threads in the parent, count (``message_count``, ``total_message_sent``), make their author a
member, reopen an archived thread and are refused by a locked, archived one (403 50083);
interactions there carry the thread as ``channel`` with the parent's permissions; GUILD_CREATE
lists the active ones. On the test side: ``thread = await stand_in.start_thread("rita", message,
"Budget")`` (a person starts one: THREAD_CREATE, owner rita; ValueError where Discord would
refuse), ``post_message(..., channel=thread)``, ``slash_command(..., channel=thread)``,
``archive_thread(thread, locked=True)``, ``thread_of(message)`` and ``threads``; a
``FakeThread``'s counters, members and archive state change in place.

Autocomplete: ``autocomplete(name, options, focused=...)`` sends interaction type 4 with what is
typed so far: string, integer and number values as strings, ``"focused": true`` on the focused
option (which must have autocomplete on), missing required options allowed. ``choices`` holds
the type-8 answer. At most 25 choices, names of 1-100 characters, string values of at most 100
and values of the focused option's type are enforced (400, recorded as invalid); answering with
another callback type, answering twice, or following up an autocomplete is a protocol problem.

Also: ``message_command``, ``user_command``, ``press_button``, ``submit_modal``;
``requests``/``requests_to``/``wait_until``; faults ``rate_limit``, ``server_error``,
``unknown_interaction``, ``slow``; ``messages.by_id`` and ``messages.from_bot()``;
``interactions.deadline``; ``forgive()`` after provoking problems on purpose. For synchronous
tests: ``with DiscordStandIn.in_thread() as threaded: threaded.call(threaded.server.post_message,
...)``. By hand: ``cd tests/e2e && python -m stand_in``.

Sharding (``sharding.py``): ``DiscordStandIn(many_guilds_world(4), shards=2, max_concurrency=1,
identify_window=5.0, session_starts=1000)``. ``GET /gateway/bot`` recommends ``shards`` and
reports the live session start limit; every IDENTIFY uses one of ``session_starts``, and one that
comes within ``identify_window`` seconds of another of its rate-limit key (``shard_id %
max_concurrency``) gets INVALID_SESSION and is a problem (``forgive()`` when on purpose). Each
shard's session gets a READY with ``shard`` and the events of its own guilds
(``shard_of(guild_id, count)``; DMs: shard 0): see ``gateway.connected_shards()``,
``sessions_by_shard()``, ``wait_for_session(shard_id=1)``. In ``many_guilds_world(count)`` guild
``i`` lives on shard ``i % n`` for 1 ≤ n ≤ 8. Not modelled: two live sessions of one shard (the
newer replaces the older), Discord's seconds of delay before that INVALID_SESSION, the 2500
guilds a shard may hold (close 4011) and the gateway's 120 commands a minute per connection.

Not covered: voice, forum and media channels, private threads and threads without a message,
thread management over REST (join, leave, edit, archive, member lists), automatic archiving, the
THREAD_CREATED system message, guild, role and overwrite management, audit-log reasons, real
rate-limit buckets (only injected 429s), ETF encoding and zstd-stream compression; files users
attach to messages (only to commands), downloads of the bot's own uploads (their URLs point at
cdn.discordapp.com), image attachments' width, height and placeholder, Discord's
``/ephemeral-attachments/`` path and signed URLs (``?ex=&is=&hm=``) with their expiry, and
Discord's own upload limit (any declared size is delivered).
"""

from __future__ import annotations

from .cdn import CDN_ROUTE, Upload
from .faults import Fault, rate_limit, server_error, slow, unknown_interaction
from .guild import FakeChannel, FakeGuild, FakeMember, FakeOverwrite, FakeRole, FakeThread, FakeUser
from .interactions import SentInteraction
from .many_guilds import many_guilds_world
from .recording import RecordedRequest, ValidationFailure
from .server import DEFAULT_TOKEN, DiscordStandIn
from .sharding import SessionStartLimit, shard_of
from .spec import ApiSpec, load_spec
from .threaded import ThreadedStandIn
from .world import World, default_world

__all__ = [
    "CDN_ROUTE",
    "DEFAULT_TOKEN",
    "ApiSpec",
    "DiscordStandIn",
    "FakeChannel",
    "FakeGuild",
    "FakeMember",
    "FakeOverwrite",
    "FakeRole",
    "FakeThread",
    "FakeUser",
    "Fault",
    "RecordedRequest",
    "SentInteraction",
    "SessionStartLimit",
    "ThreadedStandIn",
    "Upload",
    "ValidationFailure",
    "World",
    "default_world",
    "load_spec",
    "many_guilds_world",
    "rate_limit",
    "server_error",
    "shard_of",
    "slow",
    "unknown_interaction",
]
