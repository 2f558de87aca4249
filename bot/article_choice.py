"""Which article a member means: the choices offered as they type an article's title, and the
article a typed value names. Pure functions over the index's `ArticleInfo`s, and the autocomplete
callback every `article` option shares."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import discord
from discord import app_commands

from index.retriever import ArticleInfo

MAX_CHOICES = 25  # Discord's limit for autocomplete
MAX_CHOICE_CHARS = 100  # for a choice's name and for a string choice's value


def article_choices(articles: Sequence[ArticleInfo], typed: str) -> list[tuple[str, str]]:
    """Up to 25 (title, source) pairs for what has been typed so far: titles that start with it
    first, then titles that contain it, each in the index's order; every article when nothing is
    typed. An article whose source is too long to be a choice's value can't be offered."""
    words = typed.casefold().split()
    fits = [article for article in articles if 0 < len(article.source) <= MAX_CHOICE_CHARS]
    starting = [a for a in fits if a.title.casefold().startswith(typed.casefold().strip())]
    containing = [a for a in fits if a not in starting and all(w in a.title.casefold() for w in words)]
    return [(_shorten(a.title), a.source) for a in (starting + containing)[:MAX_CHOICES]]


def chosen_article(articles: Sequence[ArticleInfo], given: str) -> ArticleInfo | None:
    """The article `given` names: its source (what a picked choice sends), else the one article
    whose title it is (typed without picking, any case); None when it names none, or several."""
    for article in articles:
        if article.source == given:
            return article
    wanted = given.strip().casefold()
    titled = [article for article in articles if article.title.strip().casefold() == wanted]
    return titled[0] if len(titled) == 1 else None


def _shorten(title: str) -> str:
    title = title.strip() or "(untitled)"
    return title if len(title) <= MAX_CHOICE_CHARS else title[: MAX_CHOICE_CHARS - 1] + "…"


async def autocomplete_articles(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    """The served index's articles whose titles match what has been typed (Discord shows up to 25)."""
    client: Any = interaction.client
    choices = article_choices(client.retriever.info.articles, current)
    return [app_commands.Choice(name=title, value=source) for title, source in choices]
