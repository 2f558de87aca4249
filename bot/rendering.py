"""How answers look on Discord: embeds and short texts, escaped and cut to fit Discord's limits.

Pure functions: index values in, `discord.Embed`s and strings out; nothing here talks to Discord.
Text from outside (passages, titles, questions) is escaped so it can't format, mention or ping;
lengths are measured after escaping and bolding, since that is what Discord counts.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import discord

if TYPE_CHECKING:
    from index.answer import Answer, Hit
    from index.build import BuildStats
    from index.library import LibraryEntry
    from index.retriever import IndexInfo

# Discord's limits: https://discord.com/developers/docs/resources/message#embed-object-embed-limits
MAX_CONTENT = 2000
MAX_TITLE = 256
MAX_DESCRIPTION = 4096
MAX_FIELD_NAME = 256
MAX_FIELD_VALUE = 1024
MAX_FOOTER = 2048
MAX_EMBED_TOTAL = 6000  # per message, summed over its embeds
MAX_BUTTON_LABEL = 80
MAX_CUSTOM_ID = 100

# Our own budgets: three passages with their titles and citations stay under MAX_EMBED_TOTAL.
PASSAGE_CHARS = 1500
KEY_SENTENCE_CHARS = 400  # a key sentence in the compact list of a "low" answer
LOW_PASSAGES = 3  # a "low" answer lists this many passages at once
QUESTION_CHARS = 200
CITATION_CHARS = 256
MAX_LINK_CHARS = 500  # a source link longer than this is left out, not cut (a cut link leads nowhere)

ELLIPSIS = "…"
COLOURS = {
    "high": discord.Colour(0x2E8B57),
    "low": discord.Colour(0xD4A017),
    "none": discord.Colour(0x99AAB5),
}
CONFIDENCE_WORDS = {
    "high": "Confidence: high — the best-matching passage of the article.",
    "low": "Confidence: low — the closest passages; they may not answer this.",
}
NOT_COVERED = (
    "The article doesn't seem to cover that. Try asking about something it reports — "
    "`/about` shows what the article is."
)
NOTHING_TO_ASK = "That message has no text to ask about."
BUSY = "I'm answering a lot of questions right now — please ask again in a moment."
APOLOGY = "Sorry, something went wrong on my side. Please try again later."
PASSAGES_GONE = (
    "Those passages are no longer at hand (the bot restarted or the answer is old); please ask again."
)
PRIVATE_NO_THREAD = "A private answer can't open a thread: everyone in the channel would see the thread."
NO_THREAD_HERE = (
    "I can't start a thread in this channel (that needs Create Public Threads and Send Messages in "
    "Threads), so the answer is here. Reply to it to ask a follow-up question."
)
REINDEX_RUNNING = "A reindex is already running; the current index keeps answering until it finishes."

_MENTION = re.compile(r"@(everyone|here|[!&]?[0-9])")
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+")
_WHITESPACE = re.compile(r"\s")


def escape(text: str) -> str:
    """`text` made inert: markdown escaped, and @everyone, @here and `<@…>` broken with a zero-width
    space so they neither render nor ping (`discord.utils.escape_mentions` misses short ids)."""
    return _MENTION.sub("@\u200b\\1", discord.utils.escape_markdown(text))


def _cut(raw: str, limit: int, render: Callable[[str], str]) -> str:
    """The rendering of the longest start of `raw`, cut between words when it can be, that fits."""
    low, high = 0, len(raw)
    while low < high:  # the longest prefix whose rendering fits (lengths grow with the prefix)
        middle = (low + high + 1) // 2
        if len(render(raw[:middle])) <= limit:
            low = middle
        else:
            high = middle - 1
    end = low
    if end < len(raw) and not raw[end].isspace():
        spaces = [m.start() for m in _WHITESPACE.finditer(raw, end // 2, end)]
        if spaces:
            end = spaces[-1]
    while end > 0 and len(render(raw[:end].rstrip())) > limit:
        end -= 1  # escaping is not perfectly monotonic around URLs; step back until it fits
    return render(raw[:end].rstrip())


def shorten(text: str, limit: int) -> str:
    """`text` escaped, and if too long cut between words and marked with "…"."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    return _cut(text, limit, lambda start: escape(start) + ELLIPSIS)


def clip(text: str, limit: int) -> str:
    """Plain text for a footer (which Discord doesn't format, so nothing is escaped but mentions),
    cut to `limit` with "…"."""
    text = _MENTION.sub("@\u200b\\1", text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS


def _sentences(text: str) -> list[str]:
    """`text` in sentence pieces that join back to it exactly (each keeps its trailing space)."""
    pieces, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        pieces.append(text[start : match.end()])
        start = match.end()
    if start < len(text):
        pieces.append(text[start:])
    return pieces


def _pieces(text: str, key_sentence: str) -> list[tuple[str, bool]]:
    """The passage as (text, is the key sentence) pieces. A one-sentence passage is its own key
    sentence and is bold whole: the reader always sees which words answer."""
    key = key_sentence.strip()
    start = text.find(key) if key else -1
    if start < 0:
        return [(piece, False) for piece in _sentences(text)]
    end = start + len(key)
    return [
        *((piece, False) for piece in _sentences(text[:start])),
        (key, True),
        *((piece, False) for piece in _sentences(text[end:])),
    ]


def _render_piece(piece: str, bold: bool) -> str:
    if not bold:
        return escape(piece)
    core = piece.strip()
    leading = piece[: len(piece) - len(piece.lstrip())]
    trailing = piece[len(piece.rstrip()) :]
    return f"{leading}**{escape(core)}**{trailing}"


def passage_markdown(text: str, key_sentence: str, limit: int = PASSAGE_CHARS) -> str:
    """A passage for an embed: escaped, its key sentence in bold, cut at sentence boundaries with
    "…" to fit `limit`. The key sentence is always kept; a sentence that alone is too long is cut
    between words."""
    pieces = _pieces(text, key_sentence)
    rendered = [_render_piece(piece, bold) for piece, bold in pieces]
    count = len(pieces)

    def window(first: int, stop: int) -> str:
        body = "".join(rendered[first:stop]).strip()
        return ("… " if first > 0 else "") + body + (" …" if stop < count else "")

    if len(whole := window(0, count)) <= limit:
        return whole
    key = next((number for number, (_, bold) in enumerate(pieces) if bold), None)
    stop = 0
    while stop < count and len(window(0, stop + 1)) <= limit:
        stop += 1
    if stop > 0 and (key is None or key < stop):
        return window(0, stop)  # read from the paragraph's start as far as fits
    first = key if key is not None else 0
    if len(window(first, first + 1)) > limit:
        piece, bold = pieces[first]
        lead = "… " if first > 0 else ""
        if bold:
            return _cut(piece.strip(), limit, lambda start: f"{lead}**{escape(start)}{ELLIPSIS}**")
        return _cut(piece.strip(), limit, lambda start: f"{lead}{escape(start)}{ELLIPSIS}")
    stop = first + 1  # from the key sentence on, then back to what precedes it
    while stop < count and len(window(first, stop + 1)) <= limit:
        stop += 1
    while first > 0 and len(window(first - 1, stop)) <= limit:
        first -= 1
    return window(first, stop)


def _passage_embed(hit: Hit, *, title: str | None, colour: discord.Colour) -> discord.Embed:
    text = passage_markdown(hit.passage.text, hit.key_sentence) or ELLIPSIS  # Discord refuses empty text
    embed = discord.Embed(title=title, description=text, colour=colour)
    citation = shorten(hit.passage.citation, CITATION_CHARS) or ELLIPSIS
    if link := source_link(hit.passage.url):
        citation = f"[{citation}]({link})"
    embed.add_field(name="Source", value=citation, inline=False)
    return embed


def source_link(url: str | None) -> str | None:
    """`url` as a Markdown link target, when it is a web address short enough to show in full."""
    if not url or not url.startswith(("https://", "http://")) or len(url) > MAX_LINK_CHARS:
        return None
    if any(ch.isspace() or ch in "<>" for ch in url):
        return None
    # percent-encoded: the same address, and nothing Markdown or a mention could read into it
    return url.replace("(", "%28").replace(")", "%29").replace("@", "%40")


def question_title(question: str) -> str | None:
    """The question echoed as an embed title, escaped and shortened (None when empty)."""
    question = " ".join(question.split())
    return shorten(question, QUESTION_CHARS) if question else None


def compact_embed(answer: Answer, title: str | None) -> discord.Embed:
    """A "low" answer: the right passage is far more often among the first three than first, so
    all three at once, each as its citation and its key sentence."""
    embed = discord.Embed(title=title, colour=COLOURS[answer.confidence])
    for number, hit in enumerate(answer.hits[:LOW_PASSAGES], start=1):
        key = hit.key_sentence.strip() or hit.passage.text
        value = passage_markdown(key, key, KEY_SENTENCE_CHARS) or ELLIPSIS
        if link := source_link(hit.passage.url):
            value += f" ([source]({link}))"
        embed.add_field(
            name=shorten(f"{number}. {hit.passage.citation}", MAX_FIELD_NAME) or ELLIPSIS,
            value=value,
            inline=False,
        )
    return embed


def shows_every_passage(answer: Answer) -> bool:
    """Whether the reply already shows all the answer's passages (no "More passages" needed)."""
    return len(answer.hits) < 2 or (answer.confidence == "low" and len(answer.hits) <= LOW_PASSAGES)


def answer_embed(answer: Answer) -> discord.Embed:
    """The reply to a question: the best passage with its key sentence in bold, its citation and
    how sure we are ("high"); the first three passages' key sentences with their citations ("low");
    or, without passages, a polite "not covered" (after the notice, if any; an empty question gets
    the notice alone)."""
    title = question_title(answer.question)
    if not answer.hits:
        notice = shorten(answer.notice, PASSAGE_CHARS).strip() if answer.notice else ""
        if notice and not answer.question:
            text = notice  # an empty question: the notice says what to do
        else:  # e.g. a shortened question the article doesn't cover: say both
            text = "\n".join(part for part in (notice, NOT_COVERED) if part)
        return discord.Embed(title=title, description=text, colour=COLOURS["none"])
    if answer.confidence == "low":
        embed = compact_embed(answer, title)
    else:
        embed = _passage_embed(answer.hits[0], title=title, colour=COLOURS[answer.confidence])
    footer = CONFIDENCE_WORDS.get(answer.confidence, "")
    if answer.notice:
        footer = f"{footer} {answer.notice}".strip()
    if footer:
        embed.set_footer(text=clip(footer, MAX_FOOTER))
    return embed


def more_passages_embeds(answer: Answer) -> list[discord.Embed]:
    """The passages after the best one (up to two), one embed each, for the "More passages" button."""
    extra = answer.hits[1:3]
    colour = COLOURS[answer.confidence]
    return [
        _passage_embed(hit, title=f"Passage {number} of {len(answer.hits[:3])}", colour=colour)
        for number, hit in enumerate(extra, start=2)
    ]


def _when(built_at: str) -> str:
    try:
        moment = datetime.fromisoformat(built_at)
    except ValueError:
        return shorten(built_at, 64)
    return discord.utils.format_dt(moment, "f")


def how_to_ask(bot_name: str) -> str:
    """The ways to ask, for /about and the reply to a bare mention."""
    mention = shorten(f"@{bot_name}", 64)
    return (
        "• `/ask question:` followed by your question\n"
        f"• mention me with a question: {mention} when was the policy announced?\n"
        "• send me a direct message\n"
        "• right-click a message → Apps → **Ask the article**\n"
        "Follow up in the thread of my answer, by replying to it, or in our DM: *and when did it start?*"
    )


def help_text(bot_name: str) -> str:
    """The reply to a bare mention or "help"."""
    return (
        "I answer questions about the article with its own passages. Ask me:\n"
        f"{how_to_ask(bot_name)}\n`/about` shows which article I know."
    )


def about_embed(info: IndexInfo, *, reindexing: bool, bot_name: str) -> discord.Embed:
    """What /about shows: the article(s), the index, the model, and how to ask."""
    which = "the article below" if len(info.titles) == 1 else "the articles below"
    embed = discord.Embed(
        title="About this bot",
        description=(
            f"I answer questions about {which} with their own passages, "
            "and say how sure I am. I never write text of my own."
        ),
        colour=COLOURS["high"],
    )
    titles = "\n".join(f"• {title}" for title in info.titles) or "(none)"
    embed.add_field(
        name="Article" if len(info.titles) == 1 else "Articles",
        value=shorten(titles, MAX_FIELD_VALUE),
        inline=False,
    )
    index = f"{info.passages} passages, built {_when(info.built_at)}"
    if reindexing:
        index += " — a reindex is running"
    embed.add_field(name="Index", value=index, inline=False)
    embed.add_field(name="Model", value=shorten(info.model, 256).strip() or "(unknown)", inline=False)
    embed.add_field(name="How to ask", value=how_to_ask(bot_name), inline=False)
    return embed


def no_such_article_text(given: str) -> str:
    """The reply to /ask with an `article` the index doesn't hold."""
    return (
        f"There is no article called “{shorten(given, 100)}” here; pick one from the list "
        "that appears as you type, or leave `article` empty to ask every article."
    )


def slow_down_text(retry_after: float) -> str:
    """The reply to a question over the per-user cooldown."""
    return f"You're asking quickly — please try again in {max(1, math.ceil(retry_after))} s."


def reindex_cooldown_text(retry_after: float) -> str:
    """The reply to a /reindex within REINDEX_COOLDOWN_SECONDS of the last one."""
    return (
        f"The index was rebuilt moments ago; the next reindex can run in {max(1, math.ceil(retry_after))} s."
    )


def reindex_done_text(stats: BuildStats) -> str:
    """The end of an admin's /reindex: the new index's numbers and any skipped files."""
    text = (
        f"Reindexed: {stats.passages} passages from {stats.articles} article(s); "
        f"{stats.embedded} embedded, {stats.reused} reused, in {stats.seconds:.1f} s. "
        "The new index is answering now."
    )
    if stats.warnings:
        text += "\nWarnings:\n" + "\n".join(f"• {warning}" for warning in stats.warnings)
    return shorten(text, MAX_CONTENT)


def reindex_failed_text(reason: str) -> str:
    """The end of a /reindex that failed: why, and that nothing changed for askers."""
    return shorten(f"Reindex failed: {reason}\nThe current index keeps answering.", MAX_CONTENT)


# -- feedback ---------------------------------------------------------------------------------------

THANKS_HELPFUL = "Thanks — noted as helpful. (Pressing “Not helpful” instead changes your vote.)"
THANKS_NOT_HELPFUL = "Thanks — noted as not helpful. The bot's admins see what readers were looking for."
FEEDBACK_OFF = "Feedback isn't being recorded on this bot."


# -- /article ----------------------------------------------------------------------------------------

ADD_WHICH = "Give the article as a `file` or as a `url` (one of them)."
REMOVING = "Removing it and rebuilding the index…"
REMOVE_CANCELLED = "Cancelled; nothing was removed."
REMOVE_TIMED_OUT = "No answer within two minutes; nothing was removed."
NOT_YOUR_CONFIRMATION = "Only the admin who asked to remove this article can confirm it."
_LIST_MORE = "\n… and {count} more (`python run_bot.py articles list` shows them all)"


def article_added_text(title: str, passages: int, seconds: float, stats: BuildStats) -> str:
    """The end of an admin's /article add: what was added, and that it answers now."""
    text = (
        f"Added “{shorten(title, 300)}”: {passages} passages, answerable now "
        f"(in {seconds:.1f} s; {stats.embedded} new vectors, the other articles' {stats.reused} reused)."
    )
    if stats.warnings:
        text += "\nWarnings:\n" + "\n".join(f"• {escape(warning)}" for warning in stats.warnings)
    return shorten(text, MAX_CONTENT)


def article_stored_not_indexed_text(title: str, reason: str) -> str:
    """An add whose article was stored but whose rebuild failed: not answerable yet."""
    return shorten_text(
        f"Stored “{shorten(title, 300)}” in the articles folder, but the index wasn't rebuilt: "
        f"{escape(reason)}\nIt isn't answered from yet; run /reindex once that is fixed."
    )


def article_removed_not_reindexed_text(title: str, reason: str) -> str:
    """A remove whose file was deleted but whose rebuild failed."""
    return shorten_text(
        f"Removed “{shorten(title, 300)}” from the articles folder, but the index wasn't rebuilt: "
        f"{escape(reason)}\nIt is still answered from until /reindex succeeds."
    )


def shorten_text(text: str) -> str:
    """Already-escaped text cut to a message's length."""
    return text if len(text) <= MAX_CONTENT else text[: MAX_CONTENT - 1] + ELLIPSIS


def article_add_failed_text(reason: str) -> str:
    """The end of an /article add that failed: why, and that nothing was added."""
    return shorten(f"Couldn't add the article: {escape(reason)}\nNothing was added.", MAX_CONTENT)


def confirm_removal_text(title: str) -> str:
    """The question under /article remove's buttons."""
    return shorten(
        f"Remove “{escape(title)}”? Questions will no longer be answered from it (in any server).",
        MAX_CONTENT,
    )


def article_removed_text(title: str, seconds: float) -> str:
    """The end of a confirmed /article remove."""
    return shorten(
        f"Removed “{escape(title)}”; the index no longer answers from it (in {seconds:.1f} s).", MAX_CONTENT
    )


def article_remove_failed_text(reason: str) -> str:
    """The end of an /article remove that failed."""
    return shorten(f"Couldn't remove the article: {escape(reason)}\nNothing was removed.", MAX_CONTENT)


def articles_embed(entries: Sequence[LibraryEntry]) -> discord.Embed:
    """/article list: each article's title (a link to its source when it has one), its passages and
    when it was added; as many as fit in one embed."""
    embed = discord.Embed(title=f"Articles ({len(entries)})", colour=COLOURS["high"])
    lines = []
    for entry in entries:
        title = shorten(entry.title, 200)
        if link := source_link(entry.source):
            title = f"[{title}]({link})"
        passages = "not indexed yet" if entry.passages is None else f"{entry.passages} passages"
        lines.append(f"• {title} — {passages}, added {_when(entry.added)}")
    shown: list[str] = []
    for number, line in enumerate(lines):
        more = _LIST_MORE.format(count=len(lines) - number)  # room kept for it, should the rest not fit
        if len("\n".join([*shown, line])) + len(more) > MAX_DESCRIPTION:
            shown.append(more.strip())
            break
        shown.append(line)
    embed.description = "\n".join(shown) or "No articles yet; an admin can add one with `/article add`."
    return embed


# -- /insights ---------------------------------------------------------------------------------------

INSIGHTS_OFF = "The question log is off on this bot (QUESTION_LOG_DAYS=0), so there is nothing to report."


def insights_embed(report: Any) -> discord.Embed:
    """/insights: totals and shares, what the articles couldn't answer (grouped by meaning), the
    lowest-rated answers and the busiest channels; the chart is attached under it."""
    data = report.to_json()
    total = int(data.get("questions", 0))
    embed = discord.Embed(title=f"Insights: the last {data.get('days', '?')} days", colour=COLOURS["high"])
    shares = data.get("by_confidence", {})
    feedback = data.get("feedback", {})

    def share(kind: str) -> str:
        count = int(shares.get(kind, 0))
        return f"{count} ({count / total:.0%})" if total else "0"

    embed.description = (
        f"**{total}** questions — high {share('high')}, low {share('low')}, not covered {share('none')}. "
        f"Feedback: 👍 {feedback.get('helpful', 0)}, 👎 {feedback.get('not_helpful', 0)}."
    )
    unanswered = [
        f"• {shorten(group.get('question', ''), 150)} — ×{group.get('count', 0)}"
        for group in data.get("unanswered", [])[:10]
    ]
    embed.add_field(
        name="What readers asked that the articles don't cover",
        value=shorten_lines(unanswered) or "Nothing: every question found an answer.",
        inline=False,
    )
    rated = []
    for item in data.get("lowest_rated", [])[:5]:
        where = item.get("passage") or {}
        cited = (
            f" ({shorten(str(where.get('article', '')), 60)} ¶{where.get('paragraph', '?')})" if where else ""
        )
        rated.append(
            f"• {shorten(str(item.get('question', '')), 120)}{cited} — "
            f"👎 {item.get('not_helpful', 0)} 👍 {item.get('helpful', 0)}"
        )
    embed.add_field(name="Lowest-rated answers", value=shorten_lines(rated) or "No 👎 yet.", inline=False)
    channels = [
        f"• <#{int(c['channel_id'])}> — {c.get('questions', 0)}"
        if c.get("channel_id") and c.get("guild_id")
        else f"• direct messages — {c.get('questions', 0)}"
        for c in data.get("busiest_channels", [])[:5]
    ]
    embed.add_field(name="Busiest channels", value=shorten_lines(channels) or "None yet.", inline=False)
    return embed


def shorten_lines(lines: Sequence[str], limit: int = MAX_FIELD_VALUE) -> str:
    """As many whole lines as fit in `limit` characters."""
    shown: list[str] = []
    for line in lines:
        if len("\n".join([*shown, line])) > limit:
            break
        shown.append(line)
    return "\n".join(shown)
