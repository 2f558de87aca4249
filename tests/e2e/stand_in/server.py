"""``DiscordStandIn``: the REST API and the gateway on one aiohttp server at 127.0.0.1."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from aiohttp import web

from .cdn import Cdn
from .commands import Commands
from .faults import Fault, FaultPlan
from .gateway import Gateway, Session
from .guild import DEFAULT_AUTO_ARCHIVE_MINUTES, Channel, FakeChannel, FakeThread, FakeUser
from .interactions import Interactions, SentInteraction
from .messages import LOADING, Messages
from .recording import Changes, RecordedRequest, ValidationFailure
from .rest import RestApi
from .sharding import IDENTIFY_WINDOW_SECONDS, SessionStartLimit
from .snowflakes import Snowflakes
from .spec import ApiSpec, load_spec
from .threaded import ThreadedStandIn
from .threads import Threads
from .world import World, default_world

log = logging.getLogger(__name__)

DEFAULT_TOKEN = "MTIwMDAwMDAwMDAwMDAwMDAwMQ.stand-in.bot-token-for-tests"


class DiscordStandIn:
    """A local Discord: REST under ``/api/v10``, the gateway at ``/gateway``.

    Use ``async with DiscordStandIn() as stand_in:`` in async tests, or
    ``with DiscordStandIn.in_thread() as threaded:`` when the test itself is synchronous.

    Sharding: ``GET /gateway/bot`` recommends ``shards``; the session start limit allows
    ``session_starts`` IDENTIFYs a day and one per ``identify_window`` seconds for each
    rate-limit key ``shard_id % max_concurrency`` (shorten the window to keep tests quick).
    """

    def __init__(
        self,
        world: World | None = None,
        *,
        spec: ApiSpec | None = None,
        token: str = DEFAULT_TOKEN,
        interaction_deadline: float = 3.0,
        heartbeat_interval_ms: int = 41250,
        shards: int = 1,
        max_concurrency: int = 1,
        identify_window: float = IDENTIFY_WINDOW_SECONDS,
        session_starts: int = 1000,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        world = world or default_world()
        # Its own thread registry: threads started here must not leak into the caller's world.
        self.world = dataclasses.replace(world, threads=dict(world.threads))
        self.token = token
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self._runner: web.AppRunner | None = None
        self.changes = Changes()
        ids = Snowflakes()
        self.faults = FaultPlan()
        session_start_limit = SessionStartLimit(
            total=session_starts, max_concurrency=max_concurrency, window=identify_window
        )
        self.gateway = Gateway(
            self.world,
            token,
            resume_url=lambda: f"ws://{self.host}:{self.port}/gateway-resume",
            notify=self.changes.notify,
            heartbeat_interval_ms=heartbeat_interval_ms,
            session_start_limit=session_start_limit,
        )
        self.messages = Messages(self.world, ids, self.gateway.dispatch)
        self.channel_threads = Threads(self.world, self.messages, self.gateway.dispatch)
        self.commands = Commands(self.world, ids)
        self.cdn = Cdn(ids, lambda: self.base_url)
        self.interactions = Interactions(
            self.world, ids, self.messages, self.commands, self.cdn, deadline=interaction_deadline
        )
        self.rest = RestApi(
            world=self.world,
            spec=spec or load_spec(),
            token=token,
            gateway_url=lambda: self.gateway_url,
            messages=self.messages,
            commands=self.commands,
            interactions=self.interactions,
            threads=self.channel_threads,
            cdn=self.cdn,
            faults=self.faults,
            notify=self.changes.notify,
            session_start_limit=session_start_limit,
            shards=shards,
        )

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on ``host`` at a free port (or the one given)."""
        app = web.Application()
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/gateway-resume", self.gateway.handle)
        app.router.add_route("*", "/{tail:.*}", self.rest.handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._requested_port)
        await site.start()
        self._port = self._runner.addresses[0][1]
        log.info("Discord stand-in listening at %s", self.base_url)

    async def stop(self) -> None:
        """Close gateway sockets and stop listening."""
        await self.gateway.aclose()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> DiscordStandIn:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @classmethod
    @contextlib.contextmanager
    def in_thread(cls, *args: Any, **kwargs: Any) -> Iterator[ThreadedStandIn]:
        """Run a stand-in on its own event loop in a daemon thread, e.g. for a test that runs
        the bot as a subprocess; talk to it through ``ThreadedStandIn.call``."""
        threaded = ThreadedStandIn(cls(*args, **kwargs))
        threaded.start()
        try:
            yield threaded
        finally:
            threaded.stop()

    # -- addresses --------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The TCP port, known once started."""
        if self._port is None:
            raise RuntimeError("the stand-in has not been started")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{self.host}:{self.port}"

    @property
    def api_base_url(self) -> str:
        """What ``discord.http.Route.BASE`` must be: ``http://127.0.0.1:PORT/api/v10``."""
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        """What ``DiscordWebSocket.DEFAULT_GATEWAY`` must be: ``ws://127.0.0.1:PORT/gateway``."""
        return f"ws://{self.host}:{self.port}/gateway"

    def environment(self) -> dict[str, str]:
        """Environment variables that point the product's bot here (its settings read them),
        including the guild to sync commands to."""
        return {
            "DISCORD_TOKEN": self.token,
            "DISCORD_API_BASE_URL": self.api_base_url,
            "DISCORD_GATEWAY_URL": self.gateway_url,
            "DISCORD_GUILD_IDS": ",".join(str(guild.id) for guild in self.world.guilds),
        }

    # -- what happened ----------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every REST exchange, in order."""
        return self.rest.requests

    @property
    def unexpected(self) -> list[RecordedRequest]:
        """Requests to routes the stand-in does not implement (answered 404)."""
        return self.rest.unexpected

    @property
    def invalid(self) -> list[ValidationFailure]:
        """Bodies the spec or Discord's limits reject (answered 400)."""
        return self.rest.invalid

    @property
    def protocol_errors(self) -> list[str]:
        """Misuses real Discord refuses: late or double answers, bad close codes, and such."""
        return self.rest.problems + self.gateway.problems

    def problems(self) -> list[str]:
        """Everything that should fail a test, one line each."""
        return (
            [f"unexpected route: {r.method} {r.path}" for r in self.unexpected]
            + [f"invalid body: {failure}" for failure in self.invalid]
            + [f"protocol: {problem}" for problem in self.protocol_errors]
        )

    def forgive(self) -> None:
        """Forget recorded problems, for a test that provoked them on purpose."""
        self.rest.unexpected.clear()
        self.rest.invalid.clear()
        self.rest.problems.clear()
        self.gateway.problems.clear()

    def assert_clean(self) -> None:
        """Fail, listing them, if any problems were recorded."""
        problems = self.problems()
        assert not problems, "the Discord stand-in saw problems:\n  " + "\n  ".join(problems)

    def requests_to(self, method: str, pattern: str) -> list[RecordedRequest]:
        """Recorded requests for ``method`` on paths matching ``pattern`` (``{x}`` = a segment)."""
        return [r for r in self.requests if r.matches(method, pattern)]

    async def wait_until(
        self,
        condition: Callable[[], Any],
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
        what: str = "condition",
    ) -> Any:
        """Wait for ``condition()`` to be truthy (re-checked on every request and frame)."""
        return await self.changes.wait_until(
            condition, timeout, lambda: f"timed out after {timeout}s waiting for {what}"
        )

    async def wait_for_request(
        self,
        method: str,
        pattern: str,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
        since: int = 0,
        where: Callable[[RecordedRequest], bool] | None = None,
    ) -> RecordedRequest:
        """The first request at index ``since`` or later for ``method`` on ``pattern``
        (and satisfying ``where``); TimeoutError listing the requests seen otherwise."""

        def find() -> RecordedRequest | None:
            for request in self.requests[since:]:
                if request.matches(method, pattern) and (where is None or where(request)):
                    return request
            return None

        def describe() -> str:
            seen = "\n  ".join(str(r) for r in self.requests[since:]) or "none"
            return f"no {method} {pattern} within {timeout}s; requests seen:\n  {seen}"

        return await self.changes.wait_until(find, timeout, describe)

    # -- faults -----------------------------------------------------------------------------------

    def inject(self, fault: Fault) -> Fault:
        """Schedule a fault made with ``faults.rate_limit``, ``server_error``, ``slow``..."""
        return self.faults.add(fault)

    # -- gateway: sessions ------------------------------------------------------------------------

    async def wait_for_session(
        self,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
        resumed: int = 0,
        shard_id: int | None = None,
    ) -> Session:
        """The current session (of shard ``shard_id``; by default the one DMs go to) once
        identified, connected and resumed at least ``resumed`` times, with everything queued so
        far (READY, GUILD_CREATE...) written to the socket."""

        def connected() -> Session | None:
            if shard_id is None:
                session = self.gateway.current_session()
            else:
                session = self.gateway.session_for_shard(shard_id)
            if session is None or session.connection is None or session.resumes < resumed:
                return None
            return session

        which = "a gateway session" if shard_id is None else f"a session of shard {shard_id}"
        session = await self.wait_until(connected, timeout=timeout, what=f"{which} resumed {resumed}+ times")
        await self.gateway.flush()
        return session

    async def close_gateway(self, code: int = 4000) -> None:
        """Close every gateway socket with ``code`` (4000: unknown error, client resumes)."""
        self.gateway.close_all(code)
        await self.gateway.flush()

    async def wait_for_resume(
        self,
        *,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
        shard_id: int | None = None,
    ) -> Session:
        """Wait until the session (of shard ``shard_id``) has been resumed ``count`` times."""
        return await self.wait_for_session(timeout=timeout, resumed=count, shard_id=shard_id)

    # -- gateway: what users do -------------------------------------------------------------------

    async def post_message(
        self,
        author: FakeUser | str | int,
        content: str,
        *,
        channel: Channel | str | int = "general",
        dm: bool = False,
        reply_to: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """``author`` posts ``content`` in ``channel`` (a channel or thread, or by name or id;
        with ``dm``, their DM with the bot); MESSAGE_CREATE is written to the socket before this
        returns the message."""
        user = self._user(author)
        place = self.world.dm_channel(user) if dm else self._channel(channel)
        message = self.messages.post(user, place, content, reply_to=reply_to)
        await self.gateway.flush()
        return message

    async def slash_command(
        self,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        user: FakeUser | str | int = "rita",
        channel: Channel | str | int = "general",
        dm: bool = False,
        locale: str = "en-US",
    ) -> SentInteraction:
        """``user`` runs ``/name`` (a registered command; "group sub" for subcommands); an
        ``Upload`` value attaches a file to an attachment option."""
        person = self._user(user)
        place = self.world.dm_channel(person) if dm else self._channel(channel)
        sent = self.interactions.slash_command(name, options or {}, user=person, channel=place, locale=locale)
        return await self._send_interaction(sent)

    async def autocomplete(
        self,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        focused: str,
        user: FakeUser | str | int = "rita",
        channel: Channel | str | int = "general",
        dm: bool = False,
        locale: str = "en-US",
    ) -> SentInteraction:
        """``user`` types into option ``focused`` of ``/name``; ``options`` hold what is typed
        so far. Once answered (``wait_for_answer``), ``choices`` holds the bot's suggestions."""
        person = self._user(user)
        place = self.world.dm_channel(person) if dm else self._channel(channel)
        sent = self.interactions.autocomplete(
            name, options or {}, focused=focused, user=person, channel=place, locale=locale
        )
        return await self._send_interaction(sent)

    async def message_command(
        self,
        name: str,
        target: Mapping[str, Any],
        *,
        user: FakeUser | str | int = "rita",
        locale: str = "en-US",
    ) -> SentInteraction:
        """``user`` runs the message context-menu command ``name`` on ``target``."""
        channel = self.world.channel(int(target["channel_id"]))
        sent = self.interactions.message_command(
            name, target, user=self._user(user), channel=channel, locale=locale
        )
        return await self._send_interaction(sent)

    async def user_command(
        self,
        name: str,
        target: FakeUser | str | int,
        *,
        user: FakeUser | str | int = "rita",
        channel: Channel | str | int = "general",
        locale: str = "en-US",
    ) -> SentInteraction:
        """``user`` runs the user context-menu command ``name`` on ``target``."""
        sent = self.interactions.user_command(
            name,
            self._user(target),
            user=self._user(user),
            channel=self._channel(channel),
            locale=locale,
        )
        return await self._send_interaction(sent)

    async def press_button(
        self,
        message: Mapping[str, Any],
        custom_id: str,
        *,
        user: FakeUser | str | int = "rita",
        locale: str = "en-US",
    ) -> SentInteraction:
        """``user`` clicks the button ``custom_id`` on ``message``."""
        sent = self.interactions.button_press(message, custom_id, user=self._user(user), locale=locale)
        return await self._send_interaction(sent)

    async def submit_modal(
        self, opened_by: SentInteraction, values: Mapping[str, str | list[str]]
    ) -> SentInteraction:
        """The user submits the modal the bot answered ``opened_by`` with."""
        return await self._send_interaction(self.interactions.modal_submit(opened_by, values))

    # -- threads ----------------------------------------------------------------------------------

    @property
    def threads(self) -> list[FakeThread]:
        """Every thread started so far (by the bot or by people), oldest first."""
        return list(self.world.threads.values())

    def thread_of(self, message: Mapping[str, Any]) -> FakeThread | None:
        """The thread started from ``message``, or None."""
        return self.channel_threads.thread_of(message)

    async def start_thread(
        self,
        author: FakeUser | str | int,
        message: Mapping[str, Any],
        name: str,
        *,
        auto_archive_duration: int = DEFAULT_AUTO_ARCHIVE_MINUTES,
    ) -> FakeThread:
        """``author`` (a person) starts a thread called ``name`` from ``message``, a stored one;
        THREAD_CREATE and the starter's MESSAGE_UPDATE are written to the socket before this
        returns. ValueError when Discord would refuse (no Create Public Threads, a channel
        type without threads, a message that already has one)."""
        user = self._user(author)
        stored = self.messages.by_id.get(int(message["id"]))
        if stored is None:
            raise ValueError(f"message {message['id']} is not stored in the stand-in")
        channel = self.world.channel(int(stored["channel_id"]))
        refused = self.channel_threads.refusal(user, channel, stored)
        if refused is not None:
            raise ValueError(f"Discord would refuse {user.username}'s thread: {refused}")
        assert isinstance(channel, FakeChannel)
        thread = self.channel_threads.start(
            user, channel, stored, name, auto_archive_duration=auto_archive_duration
        )
        await self.gateway.flush()
        return thread

    async def archive_thread(self, thread: FakeThread | str | int, *, locked: bool = False) -> None:
        """A moderator archives ``thread`` (and, with ``locked``, locks it, so that only members
        with Manage Threads may post there again); THREAD_UPDATE is written before this returns."""
        found = thread if isinstance(thread, FakeThread) else self.world.thread(thread)
        self.channel_threads.archive(found, locked=locked)
        await self.gateway.flush()

    async def wait_for_answer(
        self,
        interaction: SentInteraction,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
        final: bool = True,
    ) -> SentInteraction:
        """Wait until the bot answered ``interaction``; with ``final`` (the default) a deferred
        answer counts only once ``@original`` has been filled in."""

        def answered() -> bool:
            if not interaction.acknowledged:
                return False
            original = interaction.original
            loading = original is not None and bool(original.get("flags", 0) & LOADING)
            return not (final and loading)

        await self.wait_until(answered, timeout=timeout, what=f"an answer to interaction {interaction.id}")
        return interaction

    async def _send_interaction(self, sent: SentInteraction) -> SentInteraction:
        guild_id = sent.channel.guild_id
        sent.created_at = time.monotonic()
        if self.gateway.dispatch("INTERACTION_CREATE", sent.payload, guild_id=guild_id) is None:
            raise RuntimeError("no gateway session to deliver the interaction to")
        await self.gateway.flush()
        return sent

    def _user(self, key: FakeUser | str | int) -> FakeUser:
        return key if isinstance(key, FakeUser) else self.world.user(key)

    def _channel(self, key: Channel | str | int) -> Channel:
        return key if isinstance(key, FakeChannel | FakeThread) else self.world.channel(key)
