"""The REST side: one aiohttp handler for every ``/api/v10/...`` request.

For each request, in order: parse the body (JSON, or the ``payload_json`` part of a multipart
body), match the spec operation, serve an injected fault if one is due, check the bot token,
validate the body against the spec and Discord's limits (400 on failure), run the handler, and
record the exchange. A route the stand-in does not implement gets a JSON 404 and is recorded in
``unexpected``. Every answer has ``Content-Type: application/json`` exactly (discord.py parses
nothing else), a ``Via`` header and ``X-RateLimit-*`` headers, as Discord sends them.
``GET /gateway/bot`` reports the recommended ``shards`` and the gateway's live session start limit
(``sharding.py``).

``GET /attachments/...`` (``cdn.CDN_ROUTE``) is the CDN: the bytes of an uploaded file with its
Content-Type, 404 for an unknown one; recorded and open to faults like the API, no token needed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from .api import ApiError, Call, Handler, InvalidBody, ProtocolViolation, Reply, UploadedFile
from .cdn import CDN_ROUTE, Cdn
from .commands import Commands
from .faults import FaultPlan
from .interactions import Interactions
from .messages import Messages
from .recording import RecordedRequest, ValidationFailure, path_matches
from .sharding import SessionStartLimit
from .spec import ApiSpec, Operation
from .threads import Threads
from .world import World

log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"
# Routes that authenticate with the interaction token in the path, not the bot token.
_TOKEN_IN_PATH = frozenset(
    {
        "create_interaction_response",
        "execute_webhook",
        "get_original_webhook_message",
        "update_original_webhook_message",
        "delete_original_webhook_message",
        "get_webhook_message",
        "update_webhook_message",
        "delete_webhook_message",
    }
)


class RestApi:
    """Routes requests to handlers by the spec's operationId and records what happened."""

    def __init__(
        self,
        *,
        world: World,
        spec: ApiSpec,
        token: str,
        gateway_url: Callable[[], str],
        messages: Messages,
        commands: Commands,
        interactions: Interactions,
        threads: Threads,
        cdn: Cdn,
        faults: FaultPlan,
        notify: Callable[[], None],
        session_start_limit: SessionStartLimit,
        shards: int = 1,
        check_responses: bool = True,
    ) -> None:
        self.world = world
        self.session_start_limit = session_start_limit
        self.shards = shards
        # Validate the stand-in's own answers against the spec, to keep its payloads honest.
        self.check_responses = check_responses
        self.spec = spec
        self.token = token
        self.faults = faults
        self.cdn = cdn
        self.requests: list[RecordedRequest] = []
        self.unexpected: list[RecordedRequest] = []
        self.invalid: list[ValidationFailure] = []
        self.problems: list[str] = []
        self._gateway_url = gateway_url
        self._notify = notify
        self.routes: dict[str, Handler] = {
            "get_my_user": lambda call: Reply(200, world.bot.private_payload()),
            "get_my_oauth2_application": lambda call: Reply(200, world.application_payload()),
            "get_gateway": lambda call: Reply(200, {"url": gateway_url()}),
            "get_bot_gateway": self._bot_gateway,
            "list_application_commands": commands.list_scope,
            "list_guild_application_commands": commands.list_scope,
            "bulk_set_application_commands": commands.bulk_overwrite,
            "bulk_set_guild_application_commands": commands.bulk_overwrite,
            "create_application_command": commands.create,
            "create_guild_application_command": commands.create,
            "get_application_command": commands.get_one,
            "get_guild_application_command": commands.get_one,
            "update_application_command": commands.update,
            "update_guild_application_command": commands.update,
            "delete_application_command": commands.delete,
            "delete_guild_application_command": commands.delete,
            "get_channel": messages.get_channel,
            "create_dm": messages.create_dm,
            "create_message": messages.create,
            "get_message": messages.get_one,
            "list_messages": messages.list_recent,
            "update_message": messages.update,
            "delete_message": messages.delete,
            "trigger_typing_indicator": messages.trigger_typing,
            "add_my_message_reaction": messages.add_reaction,
            "delete_my_message_reaction": messages.remove_reaction,
            "get_guild_member": messages.get_member,
            "create_thread_from_message": threads.create_from_message,
            "create_interaction_response": interactions.callback,
            "execute_webhook": interactions.execute,
            "get_original_webhook_message": interactions.get_message,
            "get_webhook_message": interactions.get_message,
            "update_original_webhook_message": interactions.edit_message,
            "update_webhook_message": interactions.edit_message,
            "delete_original_webhook_message": interactions.delete_message,
            "delete_webhook_message": interactions.delete_message,
        }

    async def handle(self, request: web.Request) -> web.Response:
        """aiohttp handler for every path; only ``/api/v10/...`` and CDN downloads can succeed."""
        received_at = time.monotonic()
        path, operation = request.path, None
        if request.method == "GET" and path_matches(CDN_ROUTE, path):
            return await self._download(request, received_at)
        if path.startswith(API_PREFIX + "/"):
            path = path.removeprefix(API_PREFIX)
            operation = self.spec.match(request.method, path)
        body, files = await _read_body(request)
        fault = self.faults.take(request.method, path)
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        errors = self.spec.validate(operation, body) if operation and body is not None else []
        headers: dict[str, str] = {}
        unexpected = False
        if errors:
            self.invalid.append(
                ValidationFailure(request.method, path, operation.operation_id, tuple(errors))
            )
        if fault is not None and fault.status is not None:
            status, payload = fault.status, fault.body
            headers.update(fault.headers)
        elif operation is None or operation.operation_id not in self.routes:
            unexpected = True
            status, payload = 404, {"message": "404: Not Found", "code": 0}
        elif operation.operation_id not in _TOKEN_IN_PATH and not self._authorized(request):
            self.problems.append(f"{request.method} {path} without the bot token")
            status, payload = 401, {"message": "401: Unauthorized", "code": 0}
        elif errors:
            status, payload = 400, InvalidBody(errors).body()
        else:
            status, payload = self._run(request, path, operation, body, files)
            headers.update(_rate_limit_headers(operation))
            if self.check_responses and payload is not None and status < 300:
                for error in self.spec.validate_response(operation, status, payload):
                    self.problems.append(f"stand-in answered {request.method} {path}: {error}")
        recorded = RecordedRequest(
            method=request.method,
            path=path,
            query=dict(request.query),
            headers=dict(request.headers),
            body=body,
            operation=operation.operation_id if operation else None,
            received_at=received_at,
            answered_at=time.monotonic(),
            status=status,
            response=payload,
            fault=fault.describe() if fault is not None and fault.status is not None else None,
            files=files,
            route=operation.template if operation else None,
        )
        self.requests.append(recorded)
        if unexpected:
            log.warning("Unexpected route: %s %s", request.method, path)
            self.unexpected.append(recorded)
        self._notify()
        return _json_response(status, payload, headers)

    async def _download(self, request: web.Request, received_at: float) -> web.Response:
        """GET on the CDN: the stored file (its bytes are recorded as the response), or 404."""
        fault = self.faults.take(request.method, request.path)
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        stored = self.cdn.file(request.path)
        if fault is not None and fault.status is not None:
            status, payload = fault.status, fault.body
            response = _json_response(fault.status, fault.body, dict(fault.headers))
        elif stored is None:
            status, payload = 404, None
            response = web.Response(status=404, text="404: Not Found", headers={"Via": "1.1 google"})
        else:
            status, payload = 200, stored.data
            headers = {"Via": "1.1 google", "Content-Type": stored.content_type}
            response = web.Response(status=200, body=stored.data, headers=headers)
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                headers=dict(request.headers),
                body=None,
                operation=None,
                received_at=received_at,
                answered_at=time.monotonic(),
                status=status,
                response=payload,
                fault=fault.describe() if fault is not None and fault.status is not None else None,
                route=CDN_ROUTE,
            )
        )
        self._notify()
        return response

    def _run(
        self,
        request: web.Request,
        path: str,
        operation: Operation,
        body: Any,
        files: tuple[UploadedFile, ...],
    ) -> tuple[int, Any]:
        call = Call(request.method, path, operation.params, dict(request.query), body, files)
        try:
            reply = self.routes[operation.operation_id](call)
        except InvalidBody as error:
            self.invalid.append(ValidationFailure(request.method, path, operation.operation_id, error.errors))
            return error.status, error.body()
        except ProtocolViolation as error:
            log.warning("Protocol problem: %s", error.problem)
            self.problems.append(error.problem)
            return error.status, error.body()
        except ApiError as error:
            return error.status, error.body()
        return reply.status, reply.body

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bot {self.token}"

    def _bot_gateway(self, call: Call) -> Reply:
        limit = self.session_start_limit.payload()
        return Reply(200, {"url": self._gateway_url(), "shards": self.shards, "session_start_limit": limit})


async def _read_body(request: web.Request) -> tuple[Any, tuple[UploadedFile, ...]]:
    if not request.body_exists:
        return None, ()
    if request.content_type == "multipart/form-data":
        form = await request.post()
        files = tuple(
            UploadedFile(name, value.filename, value.content_type, value.file.read())
            for name, value in form.items()
            if isinstance(value, web.FileField)
        )
        payload = form.get("payload_json")
        if isinstance(payload, web.FileField):
            payload = payload.file.read().decode()
        return (json.loads(payload) if payload else None), files
    text = await request.text()
    if not text:
        return None, ()
    try:
        return json.loads(text), ()
    except json.JSONDecodeError:
        return {"_unparsable_body": text[:200]}, ()


def _json_response(status: int, payload: Any, headers: dict[str, str]) -> web.Response:
    headers = {"Via": "1.1 google", **headers}
    if status == 204 or payload is None:
        return web.Response(status=204 if payload is None else status, headers=headers)
    body = json.dumps(payload).encode()
    # Set the header by hand: content_type= would add "; charset=utf-8" and discord.py only
    # parses a body whose Content-Type is exactly application/json.
    headers["Content-Type"] = "application/json"
    return web.Response(status=status, body=body, headers=headers)


def _rate_limit_headers(operation: Operation) -> dict[str, str]:
    bucket = hashlib.sha1(operation.template.encode()).hexdigest()[:32]
    return {
        "X-RateLimit-Bucket": bucket,
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": "4",
        "X-RateLimit-Reset": f"{time.time() + 1:.3f}",
        "X-RateLimit-Reset-After": "1.000",
        "X-RateLimit-Scope": "user",
    }
