"""Discord's documented message and autocomplete limits, including those the spec leaves out.

The spec allows 4000 characters of content (the Nitro limit; bots get 2000) and does not know the
6000-character budget shared by all embeds of a message, nor that a string choice's value is at
most 100 characters (it says 6000). Limits the spec does state are checked here too, so a looser
future spec cannot hide them, and because its own message for a choice is lost in a union of
integer, number and string choices.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TITLE = 256
MAX_EMBED_DESCRIPTION = 4096
MAX_EMBED_FIELDS = 25
MAX_FIELD_NAME = 256
MAX_FIELD_VALUE = 1024
MAX_FOOTER_TEXT = 2048
MAX_AUTHOR_NAME = 256
MAX_EMBED_CHARACTERS = 6000  # per embed and summed over all embeds of one message
MAX_ACTION_ROWS = 5
MAX_BUTTONS_PER_ROW = 5
MAX_BUTTON_LABEL = 80
MAX_CUSTOM_ID = 100
MAX_CHOICES = 25
MAX_CHOICE_NAME = 100
MAX_CHOICE_STRING = 100

IS_COMPONENTS_V2 = 1 << 15
_ACTION_ROW = 1
_BUTTON = 2


def message_limit_errors(message: Mapping[str, Any]) -> list[str]:
    """Each limit a create/edit message body breaks, as a sentence; empty when within limits."""
    errors = []
    content = message.get("content")
    if isinstance(content, str) and len(content) > MAX_CONTENT:
        errors.append(f"content is {len(content)} characters; the limit is {MAX_CONTENT}")
    embeds = message.get("embeds") or []
    if len(embeds) > MAX_EMBEDS:
        errors.append(f"{len(embeds)} embeds; the limit is {MAX_EMBEDS}")
    total = 0
    for index, embed in enumerate(embeds):
        if isinstance(embed, Mapping):
            errors.extend(f"embeds[{index}].{error}" for error in embed_limit_errors(embed))
            total += embed_characters(embed)
    if total > MAX_EMBED_CHARACTERS:
        errors.append(f"embeds hold {total} characters in all; the limit is {MAX_EMBED_CHARACTERS}")
    flags = message.get("flags") or 0
    errors.extend(component_limit_errors(message.get("components") or [], flags))
    return errors


def embed_limit_errors(embed: Mapping[str, Any]) -> list[str]:
    """Each per-embed limit ``embed`` breaks."""
    errors = []
    for key, limit in (("title", MAX_EMBED_TITLE), ("description", MAX_EMBED_DESCRIPTION)):
        errors.extend(_too_long(key, embed.get(key), limit))
    fields = embed.get("fields") or []
    if len(fields) > MAX_EMBED_FIELDS:
        errors.append(f"fields: {len(fields)} fields; the limit is {MAX_EMBED_FIELDS}")
    for index, field in enumerate(fields):
        errors.extend(_too_long(f"fields[{index}].name", field.get("name"), MAX_FIELD_NAME))
        errors.extend(_too_long(f"fields[{index}].value", field.get("value"), MAX_FIELD_VALUE))
    errors.extend(_too_long("footer.text", (embed.get("footer") or {}).get("text"), MAX_FOOTER_TEXT))
    errors.extend(_too_long("author.name", (embed.get("author") or {}).get("name"), MAX_AUTHOR_NAME))
    total = embed_characters(embed)
    if total > MAX_EMBED_CHARACTERS:
        errors.append(f"holds {total} characters; the limit is {MAX_EMBED_CHARACTERS}")
    return errors


def embed_characters(embed: Mapping[str, Any]) -> int:
    """The characters Discord counts against the 6000 budget: title, description, fields,
    footer text and author name."""
    parts = [
        embed.get("title"),
        embed.get("description"),
        (embed.get("footer") or {}).get("text"),
        (embed.get("author") or {}).get("name"),
    ]
    for field in embed.get("fields") or []:
        parts.extend((field.get("name"), field.get("value")))
    return sum(len(part) for part in parts if isinstance(part, str))


def component_limit_errors(components: Sequence[Any], flags: int = 0) -> list[str]:
    """Each component limit broken: rows per message, buttons per row, labels and custom ids."""
    errors = []
    if not flags & IS_COMPONENTS_V2:
        if len(components) > MAX_ACTION_ROWS:
            errors.append(f"components: {len(components)} rows; the limit is {MAX_ACTION_ROWS}")
        for index, row in enumerate(components):
            if not isinstance(row, Mapping) or row.get("type") != _ACTION_ROW:
                errors.append(f"components[{index}] is not an action row (type 1)")
                continue
            buttons = [c for c in row.get("components") or [] if c.get("type") == _BUTTON]
            if len(buttons) > MAX_BUTTONS_PER_ROW:
                errors.append(
                    f"components[{index}]: {len(buttons)} buttons; the limit is {MAX_BUTTONS_PER_ROW} per row"
                )
    for where, component in _walk(components, "components"):
        errors.extend(_too_long(f"{where}.custom_id", component.get("custom_id"), MAX_CUSTOM_ID))
        if component.get("type") == _BUTTON:
            errors.extend(_too_long(f"{where}.label", component.get("label"), MAX_BUTTON_LABEL))
    return errors


def choice_limit_errors(choices: Sequence[Any]) -> list[str]:
    """Each limit an autocomplete result's ``choices`` break: at most 25, names of 1-100
    characters, string values of at most 100."""
    errors = []
    if len(choices) > MAX_CHOICES:
        errors.append(f"choices: {len(choices)} choices; the limit is {MAX_CHOICES}")
    for index, choice in enumerate(choices):
        if not isinstance(choice, Mapping):
            continue
        name = choice.get("name")
        if name == "":
            errors.append(f"choices[{index}].name is empty")
        errors.extend(_too_long(f"choices[{index}].name", name, MAX_CHOICE_NAME))
        errors.extend(_too_long(f"choices[{index}].value", choice.get("value"), MAX_CHOICE_STRING))
    return errors


def _walk(components: Sequence[Any], where: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for index, component in enumerate(components):
        if not isinstance(component, Mapping):
            continue
        here = f"{where}[{index}]"
        yield here, component
        yield from _walk(component.get("components") or [], f"{here}.components")
        for key in ("accessory", "component"):
            child = component.get(key)
            if isinstance(child, Mapping):
                yield f"{here}.{key}", child


def _too_long(where: str, value: Any, limit: int) -> list[str]:
    if isinstance(value, str) and len(value) > limit:
        return [f"{where} is {len(value)} characters; the limit is {limit}"]
    return []
