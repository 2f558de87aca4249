"""The Discord client: an `ArticleBot` built with its settings and retriever, and its extensions."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

from bot.async_retriever import AsyncRetriever
from bot.cooldown import Cooldown
from bot.endpoints import use_endpoints
from bot.questions import addresses_bot
from bot.rendering import APOLOGY
from bot.settings import BotSettings
from bot.tree import ArticleTree

if TYPE_CHECKING:
    from index.libraries import Library
    from index.retriever import Retriever
    from insights.recording import QuestionLog

log = logging.getLogger(__name__)

IDENTIFY_WINDOW = 5.0  # seconds: Discord's identify rate limit, per bucket
EXTENSIONS = ("bot.exts.qa", "bot.exts.admin", "bot.exts.articles", "bot.exts.owner")


def bot_intents() -> discord.Intents:
    """Guilds, guild and DM messages; no privileged intents. Mentions and DMs carry their text
    without the message content intent, and that is all the bot reads."""
    intents = discord.Intents.default()
    intents.message_content = False
    intents.members = False
    intents.presences = False
    intents.typing = False  # typing events are traffic the bot never uses
    return intents


class ArticleBot(commands.AutoShardedBot):
    """Answers questions about the article over Discord.

    `settings` and `retriever` are given, not looked up, so tests and the end-to-end stand-in can
    build one in-process with a fake retriever and their own URLs. It runs the shards SHARD_IDS
    of SHARD_COUNT, or all of as many as Discord recommends (docs/scaling.md); shards identify as
    fast as Discord's `max_concurrency` allows.
    """

    def __init__(
        self,
        settings: BotSettings,
        retriever: Retriever,
        *,
        guild_ready_timeout: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        question_log: QuestionLog | None = None,
    ) -> None:
        # The bot has no voice features; don't warn at every start that voice libraries are missing.
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
        super().__init__(
            command_prefix=commands.when_mentioned,  # owner commands only; see `process_commands`
            intents=bot_intents(),
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            tree_cls=ArticleTree,
            guild_ready_timeout=guild_ready_timeout,
            max_messages=None,  # nothing reads the message cache
            shard_count=settings.shard_count,
            shard_ids=list(settings.shard_ids) if settings.shard_ids is not None else None,
        )
        self.settings = settings
        self.retriever = AsyncRetriever(retriever)
        self.clock = clock
        self.cooldown = Cooldown(settings.ask_cooldown_seconds, clock=clock)
        self.question_log = question_log  # None: nothing is recorded (QUESTION_LOG_DAYS=0)
        self.max_concurrency = 1  # shards that may identify together, from Discord at login
        self._identified_at: dict[int, float] = {}  # rate-limit bucket → when it last identified

    @property
    def library(self) -> Library:
        """Where the articles live: the served retriever's library, the one its rebuilds read
        (ARTICLES_DIR, or the database with a PostgreSQL DATABASE_URL)."""
        return self.retriever.retriever.library

    async def login(self, token: str) -> None:
        """Point discord.py at the configured API and gateway, log in, and learn from Discord how
        many shards it recommends (when SHARD_COUNT is unset) and how many may identify at once.
        The gateway stays the configured one: discord.py would take the URL Discord gives."""
        use_endpoints(self.settings.api_base_url, self.settings.gateway_url)
        await super().login(token)
        recommended, _, limit = await self.http.get_bot_gateway()
        self.max_concurrency = max(1, int(limit.get("max_concurrency", 1)))
        if self.shard_count is None:
            self.shard_count = recommended
        if limit.get("remaining", 1) < len(self.shard_ids or range(self.shard_count)):
            log.warning(
                "Discord allows %s more gateway sessions today (resets in %.0f min); some shards "
                "may not connect until then",
                limit.get("remaining"),
                limit.get("reset_after", 0) / 60_000,
            )

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Wait until Discord lets this shard identify: one identify per rate-limit bucket
        (`shard_id % max_concurrency`) every 5 seconds."""
        bucket = (shard_id or 0) % self.max_concurrency
        loop = asyncio.get_running_loop()
        last = self._identified_at.get(bucket)
        if last is not None:
            await asyncio.sleep(max(0.0, last + IDENTIFY_WINDOW - loop.time()))
        self._identified_at[bucket] = loop.time()

    async def setup_hook(self) -> None:
        """Start the question log, load the extensions (a broken one is logged, not fatal) and sync
        commands to the guilds in DISCORD_GUILD_IDS, where they appear at once; global sync is the
        owner's `sync`."""
        if self.question_log is not None:
            await self.question_log.start()
        for extension in EXTENSIONS:
            if extension in self.extensions:  # a login tried again after a network error
                continue
            try:
                await self.load_extension(extension)
            except Exception:
                log.exception("could not load extension %s", extension)
        if not self.settings.syncs_commands:
            log.info("commands are synced by the process that runs shard 0")
            return
        for guild_id in self.settings.guild_ids:
            guild = discord.Object(guild_id)
            self.tree.copy_global_to(guild=guild)
            try:
                synced = await self.tree.sync(guild=guild)
            except discord.HTTPException as error:
                log.warning(
                    "could not sync commands to guild %s (is the bot in it, invited with the "
                    "applications.commands scope?): %s",
                    guild_id,
                    error,
                )
            else:
                log.info("synced %d commands to guild %s", len(synced), guild_id)

    async def on_ready(self) -> None:
        """Log who the bot is and where (READY can come again after a reconnect)."""
        log.info(
            "connected as %s (id %s) in %d server(s)", self.user, self.user and self.user.id, len(self.guilds)
        )

    async def owner_command(self, message: discord.Message) -> commands.Context[ArticleBot] | None:
        """The context of `message` if it is the application owner running a mention command
        (`@Bot sync`), else None."""
        if message.author.bot or not message.content:
            return None
        context = await self.get_context(message)  # parsing only; `is_owner` may need a request
        if context.command is None or not await self.is_owner(message.author):
            return None
        return context

    async def process_commands(self, message: discord.Message) -> None:
        """Run owner commands only: everyone else's mentions are questions for the QA cog, and
        an unknown "command" must not be reported as an error."""
        if (context := await self.owner_command(message)) is not None:
            await self.invoke(context)

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        """The one handler for errors in events: log with the traceback; if it was a message to
        the bot (a mention or a DM), apologise to its author."""
        log.error("unhandled error in %s", event_method, exc_info=sys.exc_info())
        message = args[0] if args and isinstance(args[0], discord.Message) else None
        if message is None or message.author.bot:
            return
        me = self.user
        role = message.guild.self_role if message.guild is not None else None
        addressed = me is not None and addresses_bot(
            [user.id for user in message.mentions],
            [mentioned.id for mentioned in message.role_mentions],
            bot_id=me.id,
            bot_role_id=role.id if role is not None else None,
        )
        if message.guild is not None and not addressed:
            return  # never answer a message that wasn't for the bot, not even with an apology
        try:
            await message.channel.send(
                APOLOGY,
                reference=message.to_reference(fail_if_not_exists=False),
                mention_author=False,
                allowed_mentions=discord.AllowedMentions.none(),
            )
        except discord.HTTPException as error:
            log.warning("could not apologise for message %s: %s", message.id, error)

    async def close(self) -> None:
        """Stop answering, then disconnect."""
        if self.retriever.reindexing:
            log.info("a reindex is running; the process exits when it has finished")
        await self.retriever.close()
        if self.question_log is not None:
            await self.question_log.close()  # what is queued is written first
        await super().close()


def build_bot(
    settings: BotSettings,
    retriever: Retriever,
    *,
    guild_ready_timeout: float = 2.0,
    clock: Callable[[], float] = time.monotonic,
    question_log: QuestionLog | None = None,
) -> ArticleBot:
    """The bot, ready for `await bot.start(settings.token)` (the end-to-end tests use a small
    `guild_ready_timeout`); it records questions and votes in `question_log` when given."""
    return ArticleBot(
        settings, retriever, guild_ready_timeout=guild_ready_timeout, clock=clock, question_log=question_log
    )
