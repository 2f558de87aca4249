"""Reading a question out of a message that mentions the bot (pure functions of text and ids)."""

from __future__ import annotations

import re
from collections.abc import Collection

_GREETINGS = frozenset({"", "help", "hi", "hello", "hey", "?"})


def addresses_bot(
    mentioned_user_ids: Collection[int],
    mentioned_role_ids: Collection[int],
    *,
    bot_id: int,
    bot_role_id: int | None,
) -> bool:
    """Whether a message names the bot: its user, or its own managed role (which Discord's
    autocomplete offers under the same name). @everyone and @here never count."""
    return bot_id in mentioned_user_ids or (bot_role_id is not None and bot_role_id in mentioned_role_ids)


def question_from(content: str, *, bot_id: int, bot_role_id: int | None = None) -> str:
    """The text of a message with the bot's mentions taken out: `<@id>`, `<@!id>` and its role
    `<@&id>`, wherever they are, and the comma or colon that often follows them."""
    ids = [rf"@!?{bot_id}"] + ([rf"@&{bot_role_id}"] if bot_role_id is not None else [])
    text = re.sub(rf"<(?:{'|'.join(ids)})>", " ", content)
    text = re.sub(r"\s+", " ", text).strip()
    return text.lstrip(",:;- ").strip()


def wants_help(question: str) -> bool:
    """A bare mention, "help" or a greeting: answer with how to ask rather than a search."""
    return question.strip().strip("!.").lower() in _GREETINGS
