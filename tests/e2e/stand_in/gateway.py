"""The gateway: a v10 JSON websocket with optional zlib-stream transport compression.

Implemented: HELLO; HEARTBEAT → HEARTBEAT_ACK; IDENTIFY → READY then one GUILD_CREATE per guild
of the shard; RESUME → the missed dispatches, then RESUMED (an unknown session gets
INVALID_SESSION ``false``); REQUEST_GUILD_MEMBERS → one GUILD_MEMBERS_CHUNK; PRESENCE_UPDATE
and VOICE_STATE_UPDATE are recorded. Close codes follow Discord: 4001 unknown opcode, 4003 not
authenticated, 4004 bad token, 4005 identified twice, 4010 bad shard, 4012 bad version,
4013 no intents, 4014 privileged intents the portal has not enabled.

Sharding (``sharding.py``): an IDENTIFY with ``shard: [id, count]`` starts a session for that
shard, whose READY says ``shard`` and which then receives only the events of its guilds (DMs:
shard 0); sessions of different shards coexist, and a new one for the same shard replaces the
old (Discord lets such sessions coexist too; the newest is the one a reconnecting client wants).
Every IDENTIFY counts against the session start limit: one that comes within the identify
window of another with the same rate-limit key gets INVALID_SESSION ``false``, and one beyond
the daily total ends every session (closed with 4004, the token Discord resets); both are
recorded as problems.

As on Discord, GUILD_CREATE lists only the bot's own member unless the client has
GUILD_PRESENCES; a client with GUILD_MEMBERS fetches the rest with REQUEST_GUILD_MEMBERS.
Message events need GUILD_MESSAGES (guild) or DIRECT_MESSAGES (DM), and without
MESSAGE_CONTENT a guild message's content, embeds, attachments and components arrive empty
unless it mentions the bot or the bot wrote it. GUILD_CREATE lists the guild's active threads in
channels the bot can see (with the bot's thread member, without its ``id`` and ``user_id``, as
Discord documents); thread events need GUILDS, and THREAD_MEMBERS_UPDATE about other users
GUILD_MEMBERS as well. Dropped events are listed in ``Gateway.filtered``. Every frame is queued
per connection and written in order, so a close requested after a dispatch reaches the client
after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from .guild import VIEW_CHANNEL, FakeGuild
from .sharding import IdentifyVerdict, SessionStartLimit, shard_of
from .snowflakes import iso_timestamp
from .world import (
    DIRECT_MESSAGES_INTENT,
    GUILD_MEMBERS_INTENT,
    GUILD_MESSAGES_INTENT,
    GUILD_PRESENCES_INTENT,
    GUILDS_INTENT,
    MESSAGE_CONTENT_INTENT,
    PRIVILEGED_INTENTS,
    World,
)

log = logging.getLogger(__name__)

DISPATCH, HEARTBEAT, IDENTIFY, PRESENCE_UPDATE, VOICE_STATE_UPDATE = 0, 1, 2, 3, 4
RESUME, RECONNECT, REQUEST_GUILD_MEMBERS, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 6, 7, 8, 9, 10, 11

_MESSAGE_EVENTS = frozenset({"MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE"})
_THREAD_EVENTS = frozenset({"THREAD_CREATE", "THREAD_UPDATE", "THREAD_MEMBERS_UPDATE"})
_CONTENT_FIELDS = {"content": "", "embeds": [], "attachments": [], "components": []}


@dataclass
class Session:
    """One identified gateway session: its sequence, every dispatch sent, the live socket."""

    id: str
    shard: tuple[int, int]
    intents: int
    identify: dict[str, Any]
    seq: int = 0
    dispatches: list[dict[str, Any]] = field(default_factory=list)
    connection: Connection | None = None
    resumes: int = 0

    def owns_guild(self, guild_id: int | None) -> bool:
        """Whether this session's shard receives events of ``guild_id`` (DMs go to shard 0)."""
        shard_id, shard_count = self.shard
        return shard_of(guild_id, shard_count) == shard_id


class Connection:
    """One websocket; frames go through a queue so they are written in order."""

    def __init__(self, ws: web.WebSocketResponse, path: str, compress: bool) -> None:
        self.ws = ws
        self.path = path
        self.session: Session | None = None
        # A frame to write, a close code, or None: stop writing.
        self.queue: asyncio.Queue[dict[str, Any] | int | None] = asyncio.Queue()
        self.finished = False
        self._compressor = zlib.compressobj() if compress else None

    def send(self, frame: dict[str, Any]) -> None:
        """Queue ``frame`` for writing (dropped once the socket is done)."""
        if not self.finished:
            self.queue.put_nowait(frame)

    def close(self, code: int) -> None:
        """Queue a close with ``code`` behind the frames already queued."""
        if not self.finished:
            self.queue.put_nowait(code)

    def stop(self) -> None:
        """Let the writer finish what is queued, then end."""
        if not self.finished:
            self.queue.put_nowait(None)

    async def write_forever(self) -> None:
        """Write queued frames until a close code or a stop comes up."""
        try:
            while True:
                item = await self.queue.get()
                try:
                    if item is None:
                        return
                    if isinstance(item, int):
                        await self.ws.close(code=item)
                        return
                    if not self.ws.closed:
                        await self._write(item)
                finally:
                    self.queue.task_done()
        except ConnectionError:
            log.debug("Gateway socket %s went away while writing", self.path)
        finally:
            self.finished = True
            while not self.queue.empty():
                self.queue.get_nowait()
                self.queue.task_done()

    async def _write(self, frame: dict[str, Any]) -> None:
        text = json.dumps(frame, separators=(",", ":"))
        if self._compressor is None:
            await self.ws.send_str(text)
        else:
            data = self._compressor.compress(text.encode()) + self._compressor.flush(zlib.Z_SYNC_FLUSH)
            await self.ws.send_bytes(data)


@dataclass(frozen=True)
class OpenedSocket:
    """A websocket the client opened: its path and query (``v``, ``encoding``, ``compress``)."""

    path: str
    query: dict[str, str]
    at: float


@dataclass(frozen=True)
class ReceivedFrame:
    """A frame the client sent, with the path of the socket it came over."""

    op: int
    data: Any
    path: str
    at: float


class Gateway:
    """Sessions, connections and the dispatch of events to them."""

    def __init__(
        self,
        world: World,
        token: str,
        *,
        resume_url: Callable[[], str],
        notify: Callable[[], None],
        heartbeat_interval_ms: int = 41250,
        session_start_limit: SessionStartLimit | None = None,
    ) -> None:
        self.world = world
        self.token = token
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.session_start_limit = session_start_limit or SessionStartLimit()
        self.sessions: dict[str, Session] = {}
        self.connections: list[Connection] = []
        self.opened: list[OpenedSocket] = []
        self.received: list[ReceivedFrame] = []
        self.filtered: list[tuple[str, dict[str, Any]]] = []
        self.problems: list[str] = []
        self._resume_url = resume_url
        self._notify = notify
        self._tasks: set[asyncio.Task[None]] = set()

    # -- websocket plumbing -------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """aiohttp handler for ``/gateway`` and ``/gateway-resume``."""
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        compress = request.query.get("compress")
        self.opened.append(OpenedSocket(request.path, dict(request.query), time.monotonic()))
        connection = Connection(ws, request.path, compress == "zlib-stream")
        writer = asyncio.create_task(connection.write_forever())
        self.connections.append(connection)
        try:
            if request.query.get("v") != "10" or request.query.get("encoding", "json") != "json":
                self._problem(f"gateway connected with unsupported query {dict(request.query)}")
                connection.close(4012)
            elif compress not in (None, "zlib-stream"):
                self._problem(f"gateway asked for compress={compress}; only zlib-stream exists here")
                connection.close(4012)
            else:
                connection.send(self._frame(HELLO, {"heartbeat_interval": self.heartbeat_interval_ms}))
                await self._receive_all(connection)
        finally:
            self.connections.remove(connection)
            session = connection.session
            if session is not None and session.connection is connection:
                session.connection = None
            connection.stop()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(writer), timeout=1.0)
            writer.cancel()
            self._notify()
        return ws

    async def _receive_all(self, connection: Connection) -> None:
        async for message in connection.ws:
            if message.type == WSMsgType.TEXT:
                frame = json.loads(message.data)
                self.received.append(
                    ReceivedFrame(frame.get("op"), frame.get("d"), connection.path, time.monotonic())
                )
                self._on_frame(connection, frame)
                self._notify()
            elif message.type == WSMsgType.BINARY:
                self._problem("client sent a binary frame; discord.py speaks JSON text")
                connection.close(4002)
            elif message.type == WSMsgType.ERROR:
                log.debug("Gateway socket error: %s", connection.ws.exception())

    def _on_frame(self, connection: Connection, frame: dict[str, Any]) -> None:
        op, data = frame.get("op"), frame.get("d")
        if op == HEARTBEAT:
            connection.send(self._frame(HEARTBEAT_ACK, None))
        elif op == IDENTIFY:
            self._identify(connection, data)
        elif op == RESUME:
            self._resume(connection, data)
        elif connection.session is None:
            self._problem(f"op {op} before IDENTIFY/RESUME")
            connection.close(4003)
        elif op == REQUEST_GUILD_MEMBERS:
            self._send_member_chunk(connection.session, data)
        elif op not in (PRESENCE_UPDATE, VOICE_STATE_UPDATE):
            self._problem(f"unknown gateway opcode {op}")
            connection.close(4001)

    # -- identify and resume ------------------------------------------------------------------

    def _identify(self, connection: Connection, data: dict[str, Any]) -> None:
        if connection.session is not None:
            self._problem("IDENTIFY sent twice on one connection")
            connection.close(4005)
            return
        if data.get("token") != self.token:
            connection.close(4004)
            return
        intents = data.get("intents")
        if intents is None:
            connection.close(4013)
            return
        if intents & PRIVILEGED_INTENTS & ~self.world.enabled_privileged_intents:
            connection.close(4014)
            return
        shard_id, shard_count = data.get("shard") or (0, 1)
        if not 0 <= shard_id < shard_count:
            connection.close(4010)
            return
        if not self._may_start_session(connection, shard_id, shard_count):
            return
        for stale in [s for s in self.sessions.values() if s.shard == (shard_id, shard_count)]:
            del self.sessions[stale.id]
        session = Session(secrets.token_hex(16), (shard_id, shard_count), intents, data)
        self.sessions[session.id] = session
        session.connection = connection
        connection.session = session
        guilds = [g for g in self.world.guilds if session.owns_guild(g.id)]
        self._dispatch_to(session, "READY", self._ready_payload(session, data, guilds))
        for guild in guilds:
            # Without GUILD_PRESENCES Discord lists only the bot itself (and users in voice);
            # a client with GUILD_MEMBERS asks for the rest with REQUEST_GUILD_MEMBERS.
            members = guild.members
            if not intents & GUILD_PRESENCES_INTENT:
                members = tuple(m for m in members if m.user.id == self.world.bot.id)
            created = guild.create_payload(
                joined_at=iso_timestamp(), members=members, threads=self._visible_threads(guild)
            )
            self._dispatch_to(session, "GUILD_CREATE", created)

    def _visible_threads(self, guild: FakeGuild) -> tuple[dict[str, Any], ...]:
        """GUILD_CREATE's ``threads``: the active threads in channels the bot can see."""
        bot_id = self.world.bot.id
        return tuple(
            thread.guild_create_payload(bot_id)
            for thread in self.world.active_threads(guild.id)
            if guild.permissions(bot_id, thread) & VIEW_CHANNEL
        )

    def _may_start_session(self, connection: Connection, shard_id: int, shard_count: int) -> bool:
        limit = self.session_start_limit
        wait = limit.wait_before_identify(shard_id)
        verdict = limit.identify(shard_id)
        if verdict is IdentifyVerdict.TOO_FAST:
            self._problem(
                f"IDENTIFY of shard [{shard_id}, {shard_count}] {wait:.2f}s too early: rate-limit key "
                f"{limit.rate_limit_key(shard_id)} (max_concurrency {limit.max_concurrency}) allows "
                f"one IDENTIFY per {limit.window}s; answered INVALID_SESSION"
            )
            connection.send(self._frame(INVALID_SESSION, False))
        elif verdict is IdentifyVerdict.LIMIT_EXHAUSTED:
            self._problem(
                f"IDENTIFY beyond the session start limit ({limit.total} per {limit.period:.0f}s): "
                "Discord ends every session and resets the bot token"
            )
            self.sessions.clear()
            self.close_all(4004)
        return verdict is IdentifyVerdict.ACCEPTED

    def _ready_payload(self, session: Session, identify: dict[str, Any], guilds: list[Any]) -> dict[str, Any]:
        ready = {
            "v": 10,
            "user": self.world.bot.private_payload(),
            "user_settings": {},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "guild_join_requests": [],
            "relationships": [],
            "private_channels": [],
            "presences": [],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self._resume_url(),
            "application": {
                "id": str(self.world.application_id),
                "flags": self.world.application_flags(),
            },
            "geo_ordered_rtc_regions": ["local"],
            "_trace": ['["stand-in-gateway",{"micros":0}]'],
        }
        if "shard" in identify:
            ready["shard"] = list(session.shard)
        return ready

    def _resume(self, connection: Connection, data: dict[str, Any]) -> None:
        session = self.sessions.get(data.get("session_id", ""))
        if data.get("token") != self.token:
            connection.close(4004)
            return
        if session is None:
            connection.send(self._frame(INVALID_SESSION, False))
            return
        if session.connection is not None and session.connection is not connection:
            session.connection.close(4009)  # the old socket of a resumed session is dropped
        session.connection = connection
        connection.session = session
        session.resumes += 1
        last_seen = data.get("seq") or 0
        for frame in session.dispatches:
            if frame["s"] > last_seen:
                connection.send(frame)
        self._dispatch_to(session, "RESUMED", {"_trace": ['["stand-in-gateway",{"micros":0}]']})

    def _send_member_chunk(self, session: Session, data: dict[str, Any]) -> None:
        guild = self.world.guild_by_id(int(data["guild_id"]))
        wanted = {int(u) for u in data.get("user_ids") or []}
        members = [m for m in guild.members if not wanted or m.user.id in wanted]
        if not wanted and not session.intents & GUILD_MEMBERS_INTENT:
            self._problem("REQUEST_GUILD_MEMBERS for every member without the GUILD_MEMBERS intent")
            members = []
        chunk = {
            "guild_id": str(guild.id),
            "members": [m.payload() for m in members],
            "chunk_index": 0,
            "chunk_count": 1,
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        self._dispatch_to(session, "GUILD_MEMBERS_CHUNK", chunk)

    # -- dispatching ----------------------------------------------------------------------------

    def dispatch(self, event: str, data: dict[str, Any], *, guild_id: int | None = None) -> int | None:
        """Send ``event`` to the session whose shard owns ``guild_id``; returns its sequence
        number, or None when no session wants it (none identified, or intents filter it).
        A session whose socket is down keeps the event for RESUME."""
        session = self.current_session(guild_id)
        if session is None:
            self.filtered.append((event, data))
            log.debug("No session for %s (guild %s); dropped", event, guild_id)
            return None
        delivered = self._apply_intents(session, event, data, guild_id)
        if delivered is None:
            self.filtered.append((event, data))
            return None
        return self._dispatch_to(session, event, delivered)

    def current_session(self, guild_id: int | None = None) -> Session | None:
        """The latest session that receives events of ``guild_id``."""
        owners = [s for s in self.sessions.values() if s.owns_guild(guild_id)]
        return owners[-1] if owners else None

    def session_for_shard(self, shard_id: int) -> Session | None:
        """The latest session identified as shard ``shard_id`` (of any shard count)."""
        sessions = [s for s in self.sessions.values() if s.shard[0] == shard_id]
        return sessions[-1] if sessions else None

    def sessions_by_shard(self) -> dict[tuple[int, int], Session]:
        """The current session of each ``(shard_id, shard_count)``, connected or waiting for RESUME."""
        return {session.shard: session for session in self.sessions.values()}

    def connected_shards(self) -> list[tuple[int, int]]:
        """The ``(shard_id, shard_count)`` of every session whose socket is open, in order."""
        return sorted(shard for shard, s in self.sessions_by_shard().items() if s.connection is not None)

    def _dispatch_to(self, session: Session, event: str, data: dict[str, Any]) -> int:
        session.seq += 1
        frame = {"op": DISPATCH, "t": event, "s": session.seq, "d": data}
        session.dispatches.append(frame)
        if session.connection is not None:
            session.connection.send(frame)
        self._notify()
        return session.seq

    def _apply_intents(
        self, session: Session, event: str, data: dict[str, Any], guild_id: int | None
    ) -> dict[str, Any] | None:
        if event in _THREAD_EVENTS:
            return data if self._wants_thread_event(session, event, data) else None
        if event not in _MESSAGE_EVENTS:
            return data
        needed = GUILD_MESSAGES_INTENT if guild_id is not None else DIRECT_MESSAGES_INTENT
        if not session.intents & needed:
            return None
        if guild_id is None or session.intents & MESSAGE_CONTENT_INTENT:
            return data
        bot_id = str(self.world.bot.id)
        mentioned = any(user.get("id") == bot_id for user in data.get("mentions", []))
        if mentioned or data.get("author", {}).get("id") == bot_id:
            return data
        return {**data, **{k: v for k, v in _CONTENT_FIELDS.items() if k in data}}

    def _wants_thread_event(self, session: Session, event: str, data: dict[str, Any]) -> bool:
        """Thread events need GUILDS; THREAD_MEMBERS_UPDATE about others needs GUILD_MEMBERS too
        (without it Discord sends only the bot's own joining)."""
        if not session.intents & GUILDS_INTENT:
            return False
        if event != "THREAD_MEMBERS_UPDATE" or session.intents & GUILD_MEMBERS_INTENT:
            return True
        bot_id = str(self.world.bot.id)
        return any(member.get("user_id") == bot_id for member in data.get("added_members", []))

    # -- test controls --------------------------------------------------------------------------

    def close_all(self, code: int) -> None:
        """Close every open socket with ``code`` after the frames already queued."""
        for connection in self.connections:
            connection.close(code)

    def send_reconnect(self) -> None:
        """Ask every client to reconnect and resume (op 7), as Discord does before maintenance."""
        for connection in self.connections:
            connection.send(self._frame(RECONNECT, None))

    def invalidate_sessions(self, *, resumable: bool = False) -> None:
        """Send INVALID_SESSION; unless ``resumable`` the sessions are forgotten."""
        for connection in self.connections:
            connection.send(self._frame(INVALID_SESSION, resumable))
        if not resumable:
            self.sessions.clear()

    async def flush(self) -> None:
        """Wait until every queued frame has been written to its socket."""
        for connection in list(self.connections):
            await connection.queue.join()

    async def aclose(self) -> None:
        """Close every socket with 1001 (going away) when the stand-in stops."""
        for connection in list(self.connections):
            with contextlib.suppress(Exception):
                await connection.ws.close(code=1001)

    def _frame(self, op: int, data: Any) -> dict[str, Any]:
        return {"op": op, "d": data, "s": None, "t": None}

    def _problem(self, text: str) -> None:
        log.warning("Gateway protocol problem: %s", text)
        self.problems.append(text)
