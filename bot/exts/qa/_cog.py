"""The QA cog: every way of asking ends in the same answer embed.

A mention in a text channel is answered in a new public thread started from the question (where the
bot may start one and THREAD_REPLIES is on), so follow-ups have a place; /ask opens one when asked.
In a thread the bot started, by a reply to one of its answers, or in a DM, a question continues its
conversation (`bot.conversations`): the earlier questions are its context.

Interactions must be answered within 3 s of Discord sending them. A question usually takes tens of
milliseconds, so the answer is sent directly when it is ready within `DIRECT_REPLY_SECONDS` (one
request, no "thinking…" flash); a cold model, a busy machine or a queue of questions makes the bot
defer then and fill the reply in when the answer comes, leaving ample margin for network latency.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Hashable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot import rendering
from bot.article_choice import MAX_CHOICE_CHARS, autocomplete_articles, chosen_article
from bot.async_retriever import Busy
from bot.conversations import CHAIN_MINUTES, DM_MINUTES, Conversations
from bot.exts.qa._feedback import Feedback
from bot.exts.qa._more import AnswerShelf, MorePassages
from bot.permissions import may_answer_in
from bot.questions import addresses_bot, question_from, wants_help
from bot.threads import AUTO_ARCHIVE_MINUTES, may_start_thread, starts_threads_in, thread_name
from bot.tree import AskingTooFast, send_private
from index.conversation import turn_of
from index.retriever import MAX_QUESTION_CHARS, UnknownArticle
from insights.recording import QuestionRecord, new_answer_id

if TYPE_CHECKING:
    from bot.bot import ArticleBot
    from index.answer import Answer

log = logging.getLogger(__name__)

DIRECT_REPLY_SECONDS = 1.5
SLOW_DOWN_REACTION = "⏳"
_ANSWERABLE = (discord.MessageType.default, discord.MessageType.reply)


def within_cooldown(interaction: discord.Interaction) -> bool:
    """App command check: the per-user cooldown, shared with mentions and DMs."""
    bot = cast("ArticleBot", interaction.client)
    retry_after = bot.cooldown.retry_after(interaction.user.id)
    if retry_after:
        raise AskingTooFast(retry_after)
    return True


class AskedBy(NamedTuple):
    """Where a question came from, as the question log keeps it (the user id is hashed there)."""

    guild_id: int | None
    channel_id: int | None
    user_id: int


def _own_role_id(guild: discord.Guild | None) -> int | None:
    role = guild.self_role if guild is not None else None
    return role.id if role is not None else None


class QA(commands.Cog):
    """Answers questions with the article's passages."""

    def __init__(self, bot: ArticleBot) -> None:
        self.bot = bot
        self.shelf = AnswerShelf()
        self.conversations = Conversations(clock=bot.clock)
        self.direct_reply_seconds = DIRECT_REPLY_SECONDS
        self.ask_menu = app_commands.ContextMenu(name="Ask the article", callback=self.ask_about_message)

    async def cog_load(self) -> None:
        """Register the message command and the buttons under answers (cogs can't declare those)."""
        self.bot.tree.add_command(self.ask_menu)
        self.bot.add_dynamic_items(MorePassages, Feedback)

    async def cog_unload(self) -> None:
        """Undo `cog_load`."""
        self.bot.tree.remove_command(self.ask_menu.name, type=self.ask_menu.type)
        self.bot.remove_dynamic_items(MorePassages, Feedback)

    def reply_for(self, answer: Answer, answer_id: str | None = None) -> dict[str, Any]:
        """The embed, the "More passages" button when there are more, and the feedback buttons when
        the answer was recorded (`answer_id`), for a reply."""
        reply: dict[str, Any] = {"embed": rendering.answer_embed(answer)}
        view = discord.ui.View(timeout=None)
        if not rendering.shows_every_passage(answer):
            view.add_item(MorePassages(self.shelf.put(answer)))
        if answer_id is not None:
            view.add_item(Feedback(answer_id, helpful=True))
            view.add_item(Feedback(answer_id, helpful=False))
        if view.children:
            reply["view"] = view
        return reply

    def record(self, answer: Answer, *, via: str, asker: AskedBy, took: float) -> str | None:
        """Queue `answer` in the question log (never waits); its id, for the feedback buttons, or
        None when nothing is recorded (the log is off, or the question was empty)."""
        recorder = self.bot.question_log
        if recorder is None or not answer.question:
            return None
        answer_id = new_answer_id()
        recorder.record_question(
            QuestionRecord(
                answer_id=answer_id,
                asked_at=datetime.now(UTC),
                guild_id=asker.guild_id,
                channel_id=asker.channel_id,
                user_id=asker.user_id,
                via=via,
                question=answer.question,
                confidence=answer.confidence,
                passages=[(hit.passage.source, hit.passage.paragraph) for hit in answer.hits],
                latency_ms=took * 1000,
            )
        )
        return answer_id

    async def answer_interaction(
        self,
        interaction: discord.Interaction,
        question: str,
        *,
        ephemeral: bool,
        via: str,
        article: str | None = None,
        thread: bool = False,
    ) -> None:
        """Answer directly if the answer is quick, else defer and fill the reply in when ready; from
        the article `article` (its source) alone when given; then open a thread on the answer when
        `thread` asks for one. In a thread the bot started, the question continues its conversation."""
        started = time.perf_counter()
        asker = AskedBy(interaction.guild_id, interaction.channel_id, interaction.user.id)
        in_own_thread = self.own_thread_conversation(interaction.channel)
        conversation = in_own_thread or ("slash", interaction.id)
        earlier = self.conversations.earlier(conversation, minutes=CHAIN_MINUTES)
        work = asyncio.ensure_future(self.bot.retriever.ask(question, article, after=earlier))
        done, _ = await asyncio.wait({work}, timeout=self.direct_reply_seconds)
        none = discord.AllowedMentions.none()
        if work in done:
            answer = work.result()
            reply = self.reply_for(
                answer, self.record(answer, via=via, asker=asker, took=time.perf_counter() - started)
            )
            callback = await interaction.response.send_message(
                **reply, ephemeral=ephemeral, allowed_mentions=none
            )
            sent = callback.resource if isinstance(callback.resource, discord.InteractionMessage) else None
        else:
            await interaction.response.defer(ephemeral=ephemeral, thinking=True)
            answer = await work
            reply = self.reply_for(
                answer, self.record(answer, via=via, asker=asker, took=time.perf_counter() - started)
            )
            sent = await interaction.edit_original_response(**reply, allowed_mentions=none)
        if ephemeral or sent is None or not answer.question:
            if thread and ephemeral:
                await interaction.followup.send(rendering.PRIVATE_NO_THREAD, ephemeral=True)
            return  # nobody can reply to a private answer: no conversation to keep
        places = [sent.id]
        if in_own_thread is not None and interaction.channel_id is not None:
            places.append(interaction.channel_id)
        elif thread and (opened := await self.open_thread_on_answer(interaction, sent, question)):
            places.append(opened.id)
        self.conversations.add(conversation, turn_of(answer), places=places)

    async def open_thread_on_answer(
        self, interaction: discord.Interaction, answer: discord.Message, question: str
    ) -> discord.Thread | None:
        """Start a public thread on /ask's answer for follow-ups; where the bot can't (a DM needs
        none: it is a conversation already), tell the asker privately."""
        if interaction.guild is None:
            return None
        if not starts_threads_in(interaction.channel) or not may_start_thread(interaction.app_permissions):
            await interaction.followup.send(rendering.NO_THREAD_HERE, ephemeral=True)
            return None
        thread = await self.start_thread(answer, question)
        if thread is None:
            await interaction.followup.send(rendering.NO_THREAD_HERE, ephemeral=True)
        return thread

    async def start_thread(self, message: discord.Message, question: str) -> discord.Thread | None:
        """A public thread started from `message`, named after `question`; None when Discord
        refuses (permissions changed, the message is gone, it has a thread already)."""
        try:
            return await message.create_thread(
                name=thread_name(question), auto_archive_duration=AUTO_ARCHIVE_MINUTES
            )
        except discord.HTTPException as error:
            log.info("Could not start a thread on message %s, answering in place: %s", message.id, error)
            return None

    @app_commands.command(name="ask", description="Ask a question about the article; the answer quotes it")
    @app_commands.describe(
        question="Your question, e.g. when was the policy announced?",
        private="Show the answer only to you (default: everyone in the channel sees it)",
        article="Ask one article (pick its title as you type; default: every article)",
        thread="Open a thread on the answer for follow-up questions (default: no)",
    )
    @app_commands.check(within_cooldown)
    @app_commands.autocomplete(article=autocomplete_articles)
    async def ask(
        self,
        interaction: discord.Interaction,
        question: app_commands.Range[str, 1, MAX_QUESTION_CHARS],
        private: bool = False,
        article: app_commands.Range[str, 1, MAX_CHOICE_CHARS] | None = None,
        thread: bool = False,
    ) -> None:
        """/ask: the best passage, its citation and the confidence; more passages behind a button."""
        source = None
        if article is not None:
            chosen = chosen_article(self.bot.retriever.info.articles, article)
            if chosen is None:
                await send_private(interaction, rendering.no_such_article_text(article))
                return
            source = chosen.source
        try:
            await self.answer_interaction(
                interaction, question, ephemeral=private, via="slash", article=source, thread=thread
            )
        except UnknownArticle:  # removed between the check and the answer
            await send_private(interaction, rendering.no_such_article_text(article or ""))

    @app_commands.check(within_cooldown)
    async def ask_about_message(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """The "Ask the article" message command: that message's text is the question; only the
        user who ran it sees the answer."""
        me = self.bot.user
        question = question_from(
            message.content, bot_id=me.id if me else 0, bot_role_id=_own_role_id(interaction.guild)
        )
        if not question:
            await send_private(interaction, rendering.NOTHING_TO_ASK)
            return
        await self.answer_interaction(interaction, question, ephemeral=True, via="menu")

    @app_commands.command(name="about", description="Which article the bot knows, its index, and how to ask")
    async def about(self, interaction: discord.Interaction) -> None:
        """/about: the article(s), passages, when the index was built, the model, how to ask."""
        name = self.bot.user.display_name if self.bot.user else "bot"
        embed = rendering.about_embed(
            self.bot.retriever.info, reindexing=self.bot.retriever.reindexing, bot_name=name
        )
        await interaction.response.send_message(
            embed=embed, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
        )

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Answer a message that mentions the bot, or any message in a DM with it."""
        me = self.bot.user
        if me is None or message.author.bot or message.type not in _ANSWERABLE:
            return
        is_dm = message.guild is None
        role_id = _own_role_id(message.guild)
        if not is_dm and not addresses_bot(
            [user.id for user in message.mentions],
            [role.id for role in message.role_mentions],
            bot_id=me.id,
            bot_role_id=role_id,
        ):
            return
        if not may_answer_in(
            message.channel.id,
            getattr(message.channel, "parent_id", None),
            is_dm=is_dm,
            answer_channel_ids=self.bot.settings.answer_channel_ids,
        ):
            return
        if await self.bot.owner_command(message) is not None:
            return  # `process_commands` runs it
        question = question_from(message.content, bot_id=me.id, bot_role_id=role_id)
        if wants_help(question):
            await self.reply_to(message, content=rendering.help_text(me.display_name))
            return
        if self.bot.cooldown.retry_after(message.author.id):
            await self.slow_down(message)
            return
        started = time.perf_counter()
        conversation, minutes = self.conversation_of(message, is_dm=is_dm)
        earlier = self.conversations.earlier(conversation, minutes=minutes)
        # The search and the thread's creation overlap: the answer is ready by the time the thread is
        answering = asyncio.ensure_future(self.bot.retriever.ask(question, after=earlier))
        try:
            thread = await self.start_thread(message, question) if self.answers_in_thread(message) else None
        except BaseException:
            answering.cancel()
            raise
        try:
            answer = await answering
        except Busy:
            await self.answer_at(message, thread, content=rendering.BUSY)
            return
        asker = AskedBy(message.guild.id if message.guild else None, message.channel.id, message.author.id)
        answer_id = self.record(
            answer, via="dm" if is_dm else "mention", asker=asker, took=time.perf_counter() - started
        )
        sent = await self.answer_at(message, thread, **self.reply_for(answer, answer_id))
        if answer.question:
            places = [sent.id]
            if thread is not None or self.own_thread_conversation(message.channel) is not None:
                places.append(sent.channel.id)
            self.conversations.add(conversation, turn_of(answer), places=places)

    def answers_in_thread(self, message: discord.Message) -> bool:
        """Whether to answer `message` in a new thread: THREAD_REPLIES is on, and the bot may
        start a public thread in its channel (a text channel, not a thread already)."""
        me = message.guild.me if message.guild is not None else None
        return (
            self.bot.settings.thread_replies
            and me is not None
            and starts_threads_in(message.channel)
            and may_start_thread(message.channel.permissions_for(me))
        )

    def own_thread_conversation(self, channel: object) -> Hashable | None:
        """The conversation of `channel` when it is a thread the bot started, else None; a thread
        whose conversation was forgotten (a restart, or long quiet) starts a new one."""
        me = self.bot.user
        if not isinstance(channel, discord.Thread) or me is None or channel.owner_id != me.id:
            return None
        return self.conversations.continued_at(channel.id) or ("thread", channel.id)

    def conversation_of(self, message: discord.Message, *, is_dm: bool) -> tuple[Hashable, float]:
        """Which conversation `message` continues, and for how many minutes one lasts: a DM's, a
        reply to one of the bot's answers (that answer's), a thread the bot started, or a new one
        of its own."""
        if is_dm:
            return ("dm", message.channel.id), DM_MINUTES
        replied = message.reference.message_id if message.reference is not None else None
        if replied is not None and (key := self.conversations.continued_at(replied)) is not None:
            return key, CHAIN_MINUTES
        if (key := self.own_thread_conversation(message.channel)) is not None:
            return key, CHAIN_MINUTES
        return ("chain", message.id), CHAIN_MINUTES

    async def answer_at(
        self, message: discord.Message, thread: discord.Thread | None, **reply: Any
    ) -> discord.Message:
        """Send `reply` into the new `thread` started from `message` (whose question heads it),
        or else as a reply to `message`."""
        if thread is None:
            return await self.reply_to(message, **reply)
        return await thread.send(**reply, allowed_mentions=discord.AllowedMentions.none())

    async def reply_to(self, message: discord.Message, **reply: Any) -> discord.Message:
        """Reply to `message` without pinging its author or anyone else; still sent if the message
        was deleted meanwhile."""
        return await message.channel.send(
            **reply,
            reference=message.to_reference(fail_if_not_exists=False),
            mention_author=False,
            allowed_mentions=discord.AllowedMentions.none(),
        )

    async def slow_down(self, message: discord.Message) -> None:
        """Mark a question over the cooldown with a reaction: quieter than a reply, never a ping."""
        try:
            await message.add_reaction(SLOW_DOWN_REACTION)
        except discord.HTTPException as error:
            log.debug("could not react to message %s: %s", message.id, error)
