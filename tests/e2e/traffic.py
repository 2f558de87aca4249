"""What the product's bot sent the stand-in, in the terms the end-to-end tests check: routes as
the spec's templates, the messages that answered an interaction, and whether any of them pings."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from stand_in import CDN_ROUTE, DiscordStandIn, RecordedRequest, SentInteraction

USER = "/users/@me"
APPLICATION = "/oauth2/applications/@me"
GUILD_COMMANDS = "/applications/{application_id}/guilds/{guild_id}/commands"
CALLBACK = "/interactions/{interaction_id}/{interaction_token}/callback"
ORIGINAL = "/webhooks/{webhook_id}/{webhook_token}/messages/@original"
FOLLOWUP = "/webhooks/{webhook_id}/{webhook_token}"
MESSAGES = "/channels/{channel_id}/messages"
REACTION = "/channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}/@me"
DOWNLOAD = CDN_ROUTE  # a file a user attached to a command, fetched by Attachment.read()

BOT_GATEWAY = "/gateway/bot"  # the recommended shard count and identify concurrency, after setup
LOGIN = [("GET", USER), ("GET", APPLICATION), ("PUT", GUILD_COMMANDS), ("GET", BOT_GATEWAY)]
DIRECT_ANSWER = [("POST", CALLBACK)]
DEFERRED_ANSWER = [("POST", CALLBACK), ("PATCH", ORIGINAL)]

# Mention syntax Discord would render (and could ping with): escaped forms have a zero-width space.
RENDERED_MENTION = re.compile(r"@everyone|@here|<@[!&]?\d+>")


def routes(stand_in: DiscordStandIn, requests: list[RecordedRequest] | None = None) -> list[tuple[str, str]]:
    """(method, route template) of each request (default: all the stand-in saw), in order; the
    path itself for a route the stand-in does not know."""
    return [
        (request.method, request.route or request.path)
        for request in (stand_in.requests if requests is None else requests)
    ]


def requests_for(stand_in: DiscordStandIn, sent: SentInteraction) -> list[RecordedRequest]:
    """The requests that answered ``sent``: its callback and the webhook calls with its token."""
    return [request for request in stand_in.requests if sent.token in request.path.split("/")]


def message_bodies(requests: list[RecordedRequest]) -> list[dict[str, Any]]:
    """The message each request sent or edited: a callback's ``data``, otherwise the body."""
    bodies = []
    for request in requests:
        body = request.body or {}
        if request.matches("POST", CALLBACK):
            body = body.get("data") or {}
        bodies.append(body)
    return bodies


def pings_nobody(body: Mapping[str, Any]) -> bool:
    """Whether a message body's ``allowed_mentions`` lets nothing ping: no parse, no ids, and no
    ping to the author of a replied-to message."""
    allowed = body.get("allowed_mentions")
    return (
        allowed is not None
        and allowed.get("parse") == []
        and not allowed.get("users")
        and not allowed.get("roles")
        and not allowed.get("replied_user")
    )


def strings(value: Any) -> Iterator[str]:
    """Every string inside a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def rendered_mentions(body: Any) -> list[str]:
    """Mention syntax anywhere in a body that Discord would render as a mention."""
    return [match for text in strings(body) for match in RENDERED_MENTION.findall(text)]


def answer_embed(sent: SentInteraction) -> dict[str, Any]:
    """The one embed of the message that answered ``sent`` (as the stand-in stored it)."""
    assert sent.original is not None, f"interaction {sent.id} has no answer"
    [embed] = sent.original["embeds"]
    return embed


def button_ids(message: Mapping[str, Any]) -> list[str]:
    """The custom ids of the buttons on a stored message."""
    return [
        component["custom_id"]
        for row in message.get("components") or []
        for component in row.get("components") or []
        if component.get("type") == 2
    ]
