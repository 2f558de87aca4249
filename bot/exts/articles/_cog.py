"""/article add (a file or a link), /article list and /article remove, with /ask's article option
the way to ask one of them.

Adding and removing change what every server's questions are answered from, so they are the bot's
admins' (`bot.admins`), like /reindex; listing is anyone's. An article is stored in the bot's
library (`bot.library`: ARTICLES_DIR, written atomically under a lock, or the database with a
PostgreSQL DATABASE_URL) and the index is rebuilt, re-embedding only the new text; the current
index keeps answering meanwhile, and the reply comes once the article is answerable.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import rendering
from bot.admins import bot_admins_only
from bot.article_choice import MAX_CHOICE_CHARS, autocomplete_articles, chosen_article
from bot.permissions import ARTICLES_IN_DMS, ARTICLES_NOT_ALLOWED
from bot.tree import send_private
from index.articles import MAX_ARTICLE_BYTES, ArticleError
from index.fetching import FetchRefused, fetch_page
from index.library import LibraryEntry, LibraryError
from index.retriever import ArticleInfo, ReindexRunning
from index.store import IndexDirRefused

if TYPE_CHECKING:
    from bot.bot import ArticleBot
    from index.build import BuildStats

log = logging.getLogger(__name__)

may_change_articles = bot_admins_only(in_dms=ARTICLES_IN_DMS, not_allowed=ARTICLES_NOT_ALLOWED)
# How long an add waits for a reindex already running: the reply must come within the interaction
# token's 15 minutes, rebuild included.
REBUILD_PATIENCE_SECONDS = 300.0
MAX_NAME_BYTES = 200  # an attachment's name, as kept for the temporary copy (file systems allow 255)
CONFIRM_SECONDS = 120.0
FILE_TYPES = (".txt", ".md", ".html", ".htm")


def describe(error: BaseException) -> str:
    """An error for the admin: the sentence of one they can act on, else its kind and text."""
    if isinstance(error, (ArticleError, IndexDirRefused, LibraryError)):
        return str(error)
    if isinstance(error, ReindexRunning):
        return "another reindex kept running; run /reindex once it has finished"
    return f"{type(error).__name__}: {error} (details in the bot's log)"


class ArticleRefused(Exception):
    """The article can't be added as given; the message says why, for the admin."""


class Articles(
    commands.GroupCog, group_name="article", group_description="The articles the bot answers from"
):
    """Adding, listing and removing articles."""

    def __init__(self, bot: ArticleBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="add", description="Add an article from a file or a link (the bot's admins)")
    @app_commands.describe(
        file="The article as a .txt, .md or .html file (up to 5 MB)",
        url="Or a link to the article's web page (http or https)",
    )
    @app_commands.guild_only()
    @app_commands.check(may_change_articles)
    async def add(
        self,
        interaction: discord.Interaction,
        file: discord.Attachment | None = None,
        url: app_commands.Range[str, 1, 2000] | None = None,
    ) -> None:
        """Store the article, rebuild the index, and say privately when it is answerable."""
        if (file is None) == (url is None):
            await send_private(interaction, rendering.ADD_WHICH)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        started = time.perf_counter()
        log.info("article add asked by user %s: %s", interaction.user.id, url or (file and file.filename))
        try:
            entry = await (self._add_file(file) if file is not None else self._add_link(url or ""))
        except (ArticleRefused, FetchRefused, LibraryError, ArticleError) as error:
            text = rendering.article_add_failed_text(str(error))
        except Exception as error:
            log.exception("article add failed")
            text = rendering.article_add_failed_text(describe(error))
        else:
            try:
                stats = await self._rebuild()
            except Exception as error:  # stored, but not answerable yet: say so, and what to do
                log.exception("article added, but the rebuild failed")
                text = rendering.article_stored_not_indexed_text(entry.title, describe(error))
            else:
                info = self.bot.retriever.info
                passages = next((a.passages for a in info.articles if a.source == entry.file), 0)
                text = rendering.article_added_text(
                    entry.title, passages, time.perf_counter() - started, stats
                )
        await interaction.edit_original_response(
            content=text, allowed_mentions=discord.AllowedMentions.none()
        )

    async def _add_file(self, attachment: discord.Attachment) -> LibraryEntry:
        name = Path(attachment.filename).name
        if Path(name).suffix.lower() not in FILE_TYPES:
            raise ArticleRefused(f"{name}: not an article file ({', '.join(FILE_TYPES)})")
        if attachment.size > MAX_ARTICLE_BYTES:
            raise ArticleRefused(
                f"{name}: {attachment.size / 1_048_576:.1f} MB is over the "
                f"{MAX_ARTICLE_BYTES // 1_048_576} MB limit for one article"
            )
        try:
            data = await attachment.read()
        except (discord.HTTPException, discord.NotFound) as error:
            raise ArticleRefused(f"{name}: the file could not be downloaded from Discord ({error})") from None
        if len(data) > MAX_ARTICLE_BYTES:  # the size Discord reported was not the file's
            raise ArticleRefused(
                f"{name}: over the {MAX_ARTICLE_BYTES // 1_048_576} MB limit for one article"
            )
        return await asyncio.to_thread(self._store_upload, name, data)

    def _store_upload(self, name: str, data: bytes) -> LibraryEntry:
        stem, suffix = Path(name).stem, Path(name).suffix
        while len(f"{stem}{suffix}".encode()) > MAX_NAME_BYTES:  # the title, not the name, names it
            stem = stem[:-1]
        with tempfile.TemporaryDirectory(prefix="article-upload-") as folder:
            path = Path(folder) / f"{stem or 'article'}{suffix}"
            path.write_bytes(data)
            return self.bot.library.add_file(path)

    async def _add_link(self, url: str) -> LibraryEntry:
        page = await fetch_page(url.strip(), allow_private=self.bot.settings.allow_private_urls)
        return await asyncio.to_thread(self.bot.library.add_page, page)

    async def _rebuild(self) -> BuildStats:
        """Rebuild the index; when a reindex is already running, wait for it, then rebuild (it may
        have read the folder before the change)."""
        deadline = time.monotonic() + REBUILD_PATIENCE_SECONDS
        while True:
            try:
                return await self.bot.retriever.reindex()
            except ReindexRunning:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)

    @app_commands.command(name="list", description="The articles the bot answers from")
    async def list(self, interaction: discord.Interaction) -> None:
        """Each article's title (linked to its source), passages and when it was added; privately."""
        entries = await asyncio.to_thread(self.bot.library.list, self.bot.retriever.manifest)
        await interaction.response.send_message(
            embed=rendering.articles_embed(entries),
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )

    @app_commands.command(name="remove", description="Remove an article (the bot's admins)")
    @app_commands.describe(article="The article to remove (pick its title as you type)")
    @app_commands.guild_only()
    @app_commands.check(may_change_articles)
    @app_commands.autocomplete(article=autocomplete_articles)
    async def remove(
        self, interaction: discord.Interaction, article: app_commands.Range[str, 1, MAX_CHOICE_CHARS]
    ) -> None:
        """Ask to confirm, privately; on "Remove", delete the file and rebuild the index. The article
        is looked up in the index being served (no file is read before the reply is due)."""
        chosen = chosen_article(self.bot.retriever.info.articles, article)
        if chosen is None:
            await send_private(interaction, rendering.no_such_article_text(article))
            return
        view = ConfirmRemoval(self, chosen, asker=interaction.user.id, asked=interaction)
        await interaction.response.send_message(
            rendering.confirm_removal_text(chosen.title),
            view=view,
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )

    async def removed(self, article: ArticleInfo) -> str:
        """Remove `article`'s file and rebuild; the text that says how it went."""
        started = time.perf_counter()
        try:
            await asyncio.to_thread(self.bot.library.remove, Path(article.source).stem)
        except (LibraryError, ArticleError) as error:
            return rendering.article_remove_failed_text(str(error))
        except Exception as error:
            log.exception("article remove failed")
            return rendering.article_remove_failed_text(describe(error))
        log.info("article removed: %s (%s)", article.source, article.title)
        try:
            await self._rebuild()
        except Exception as error:  # the file is gone; the index answers from it until rebuilt
            log.exception("article removed, but the rebuild failed")
            return rendering.article_removed_not_reindexed_text(article.title, describe(error))
        return rendering.article_removed_text(article.title, time.perf_counter() - started)


class ConfirmRemoval(discord.ui.View):
    """ "Remove" / "Cancel" under the private confirmation; only the admin who asked can press them."""

    def __init__(
        self, cog: Articles, article: ArticleInfo, *, asker: int, asked: discord.Interaction | None = None
    ) -> None:
        super().__init__(timeout=CONFIRM_SECONDS)
        self.cog = cog
        self.article = article
        self.asker = asker
        self.asked = asked  # the /article remove whose reply carries the buttons

    async def on_timeout(self) -> None:
        """Unanswered: take the buttons away (they would fail) and say nothing was removed."""
        if self.asked is None:
            return
        try:
            await self.asked.edit_original_response(content=rendering.REMOVE_TIMED_OUT, view=None)
        except discord.HTTPException as error:
            log.debug("could not take the removal buttons away: %s", error)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Only the admin who asked answers the question; anyone else is told so, privately."""
        if interaction.user.id == self.asker:
            return True
        await send_private(interaction, rendering.NOT_YOUR_CONFIRMATION)
        return False

    @discord.ui.button(label="Remove", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction, _: discord.ui.Button[ConfirmRemoval]) -> None:
        self.stop()
        await interaction.response.edit_message(content=rendering.REMOVING, view=None)
        text = await self.cog.removed(self.article)
        await interaction.edit_original_response(
            content=text, allowed_mentions=discord.AllowedMentions.none()
        )

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction, _: discord.ui.Button[ConfirmRemoval]) -> None:
        self.stop()
        await interaction.response.edit_message(content=rendering.REMOVE_CANCELLED, view=None)
