"""Discord's message limits as a checker the bot's tests share (documented limits, counted as
Discord counts them: characters of the title, description, fields, footer and author name)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

import discord

# @everyone, @here and user/role mentions that would render (and, without AllowedMentions, ping).
RAW_MENTION = re.compile(r"@(everyone|here)|<@[!&]?\d+>")


def embed_texts(embed: discord.Embed) -> Iterator[str]:
    for text in (embed.title, embed.description, embed.footer.text, embed.author.name):
        if text:
            yield text
    for field in embed.fields:
        yield field.name or ""
        yield field.value or ""


def limit_problems(content: str | None = None, embeds: Sequence[discord.Embed] = ()) -> list[str]:
    """Each Discord limit the message breaks (too long, or empty where Discord wants text), and each
    raw mention in it; empty when fine."""
    problems = []
    if content is not None and len(content) > 2000:
        problems.append(f"content has {len(content)} characters")
    for number, embed in enumerate(embeds):
        for name, text, limit in (
            ("title", embed.title, 256),
            ("description", embed.description, 4096),
            ("footer", embed.footer.text, 2048),
            ("author", embed.author.name, 256),
        ):
            if text and len(text) > limit:
                problems.append(f"embed {number} {name} has {len(text)} characters")
        if len(embed.fields) > 25:
            problems.append(f"embed {number} has {len(embed.fields)} fields")
        for field in embed.fields:
            if len(field.name or "") > 256 or len(field.value or "") > 1024:
                problems.append(f"embed {number} field {field.name!r} is too long")
            if not (field.name or "").strip() or not (field.value or "").strip():
                problems.append(f"embed {number} has an empty field name or value")
        if embed.footer.text is not None and not embed.footer.text.strip():
            problems.append(f"embed {number} has an empty footer")
        if embed.description is not None and not embed.description.strip():
            problems.append(f"embed {number} has an empty description")
    if sum(len(embed) for embed in embeds) > 6000:
        problems.append("embeds hold more than 6000 characters")
    texts = [content or "", *(text for embed in embeds for text in embed_texts(embed))]
    problems.extend(f"raw mention {m.group()!r}" for text in texts for m in RAW_MENTION.finditer(text))
    return problems
