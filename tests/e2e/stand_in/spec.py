"""Discord's OpenAPI document: match request paths to operations and validate request bodies.

The document is OpenAPI 3.1, whose schemas are JSON Schema 2020-12, so a whole-document
`referencing` resource lets ``#/components/schemas/...`` references resolve as they are written.
Validators are built lazily per operation and cached; loading the document and building the
registry takes well under 0.1 s (see ``tests/e2e/test_spec_validation.py``).

Two leniencies are patched into the in-memory copy (never into the vendored file), because real
Discord accepts what the spec forbids and discord.py relies on it:

- snowflakes may be JSON integers (discord.py sends ``message_reference.message_id`` and
  ``allowed_mentions.users`` as ints);
- ``default_member_permissions`` may be a decimal string (discord.py sends ``str(value)``, which is
  what Discord's own documentation shows).
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from .limits import choice_limit_errors, message_limit_errors

log = logging.getLogger(__name__)

SPEC_DIR = Path(__file__).resolve().parent.parent / "discord_api_spec"
_SPEC_URI = "urn:discord-api-spec"
_METHODS = ("get", "put", "post", "patch", "delete")

# Operations whose body is (or, for the interaction callback, contains) a message.
_MESSAGE_OPERATIONS = frozenset(
    {
        "create_message",
        "update_message",
        "execute_webhook",
        "update_webhook_message",
        "update_original_webhook_message",
    }
)
_MESSAGE_CALLBACK_TYPES = frozenset({4, 7})
_AUTOCOMPLETE_RESULT = 8


@dataclass(frozen=True)
class Operation:
    """One operation of the spec, matched against a concrete request path."""

    method: str
    template: str
    operation_id: str
    params: Mapping[str, str]


@dataclass(frozen=True)
class _Template:
    method: str
    template: str
    operation_id: str
    segments: tuple[str, ...]

    def match(self, segments: list[str]) -> dict[str, str] | None:
        if len(segments) != len(self.segments):
            return None
        params = {}
        for pattern, actual in zip(self.segments, segments, strict=True):
            if pattern.startswith("{") and pattern.endswith("}"):
                params[pattern[1:-1]] = actual
            elif pattern != actual:
                return None
        return params

    @property
    def literal_count(self) -> int:
        return sum(1 for s in self.segments if not s.startswith("{"))


class ApiSpec:
    """The loaded spec: ``match`` finds an operation, ``validate`` lists what is wrong with a body."""

    def __init__(self, document: dict[str, Any], version: str) -> None:
        self.version = version
        self._document = document
        self._registry: Registry = Registry().with_resource(
            _SPEC_URI, Resource.from_contents(document, default_specification=DRAFT202012)
        )
        self._templates = [
            _Template(method.upper(), path, op["operationId"], tuple(path.strip("/").split("/")))
            for path, item in document["paths"].items()
            for method, op in item.items()
            if method in _METHODS
        ]
        self._validators: dict[tuple[str, str], Draft202012Validator | None] = {}
        self._response_validators: dict[tuple[str, str, int], Draft202012Validator | None] = {}

    @classmethod
    def load(cls, directory: Path = SPEC_DIR) -> ApiSpec:
        """Read ``openapi.json`` and ``VERSION`` from ``directory`` and apply the leniencies."""
        started = time.perf_counter()
        document = json.loads((directory / "openapi.json").read_text(encoding="utf-8"))
        version = (directory / "VERSION").read_text(encoding="utf-8").strip()
        spec = cls(_with_leniencies(document), version)
        log.debug("Loaded Discord API spec %s in %.3fs", version, time.perf_counter() - started)
        return spec

    def match(self, method: str, path: str) -> Operation | None:
        """The operation for ``method`` and an API path without the ``/api/v10`` prefix."""
        segments = path.strip("/").split("/")
        best: tuple[_Template, dict[str, str]] | None = None
        for template in self._templates:
            if template.method != method.upper():
                continue
            params = template.match(segments)
            # "/users/@me" must beat "/users/{user_id}": prefer the most literal segments.
            if params is not None and (best is None or template.literal_count > best[0].literal_count):
                best = (template, params)
        if best is None:
            return None
        template, params = best
        return Operation(template.method, template.template, template.operation_id, params)

    def validate(self, operation: Operation, body: Any) -> list[str]:
        """Every problem with ``body`` for ``operation``: spec violations, then Discord's limits."""
        validator = self._validator(operation)
        problems = []
        if validator is not None:
            problems.extend(_leaf_errors(validator, body))
        problems.extend(_limit_errors(operation, body))
        return problems

    def validate_response(self, operation: Operation, status: int, body: Any) -> list[str]:
        """Problems with a response ``body`` the stand-in itself sends (a self-check of its
        payload shapes); empty when the spec documents no JSON schema for ``status``."""
        key = (operation.method, operation.template, status)
        if key not in self._response_validators:
            op = self._document["paths"][operation.template][operation.method.lower()]
            content = op.get("responses", {}).get(str(status), {}).get("content", {})
            validator = None
            if "application/json" in content:
                pointer = _pointer(
                    "paths",
                    operation.template,
                    operation.method.lower(),
                    "responses",
                    str(status),
                    "content",
                    "application/json",
                    "schema",
                )
                validator = Draft202012Validator({"$ref": f"{_SPEC_URI}#{pointer}"}, registry=self._registry)
            self._response_validators[key] = validator
        validator = self._response_validators[key]
        if validator is None:
            return []
        return _leaf_errors(validator, body)

    def schema_validator(self, name: str) -> Draft202012Validator:
        """A validator for ``#/components/schemas/{name}``."""
        pointer = _pointer("components", "schemas", name)
        return Draft202012Validator({"$ref": f"{_SPEC_URI}#{pointer}"}, registry=self._registry)

    def _validator(self, operation: Operation) -> Draft202012Validator | None:
        key = (operation.method, operation.template)
        if key not in self._validators:
            op = self._document["paths"][operation.template][operation.method.lower()]
            content = op.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                pointer = _pointer(
                    "paths",
                    operation.template,
                    operation.method.lower(),
                    "requestBody",
                    "content",
                    "application/json",
                    "schema",
                )
                self._validators[key] = Draft202012Validator(
                    {"$ref": f"{_SPEC_URI}#{pointer}"}, registry=self._registry
                )
            else:
                self._validators[key] = None
        return self._validators[key]


@functools.cache
def load_spec() -> ApiSpec:
    """The spec, loaded once per process."""
    return ApiSpec.load()


def _with_leniencies(document: dict[str, Any]) -> dict[str, Any]:
    document = copy.deepcopy(document)
    schemas = document["components"]["schemas"]
    schemas["SnowflakeType"] = {"anyOf": [schemas["SnowflakeType"], {"type": "integer", "minimum": 0}]}
    for name in ("ApplicationCommandCreateRequest", "ApplicationCommandUpdateRequest"):
        prop = schemas[name]["properties"]["default_member_permissions"]
        schemas[name]["properties"]["default_member_permissions"] = {
            "anyOf": [prop, {"type": "string", "pattern": "^[0-9]+$"}]
        }
    return document


def _pointer(*parts: str) -> str:
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


def _leaf_errors(validator: Draft202012Validator, body: Any) -> list[str]:
    """The most specific problems: inside anyOf/oneOf, the deepest failures of the alternatives
    that fit the instance's kind (not those ruled out by a ``type`` field, or by null)."""
    found: dict[str, None] = {}
    for error in validator.iter_errors(body):
        for path, message in _explain(error):
            found.setdefault(f"{_json_path(path)}: {_shorten(message)}")
    return list(found)


def _explain(error: ValidationError) -> list[tuple[tuple[Any, ...], str]]:
    path = tuple(error.absolute_path)
    if not error.context:
        return [(path, error.message)]
    alternatives: dict[Any, list[ValidationError]] = {}
    for sub in error.context:
        alternatives.setdefault(sub.relative_schema_path[0], []).append(sub)
    plausible = [
        errors for errors in alternatives.values() if not any(_rules_out(sub, error) for sub in errors)
    ]
    if not plausible:
        allowed = sorted(
            {
                value
                for sub in error.context
                if _rules_out(sub, error) and sub.validator in ("enum", "const")
                for value in (sub.validator_value if sub.validator == "enum" else [sub.validator_value])
            }
        )
        if allowed and isinstance(error.instance, dict):
            return [((*path, "type"), f"{error.instance.get('type')!r} is not one of {allowed}")]
        return [(path, error.message)]
    leaves = [leaf for errors in plausible for sub in errors for leaf in _explain(sub)]
    deepest = max(len(leaf_path) for leaf_path, _ in leaves)
    leaves = [(p, m) for p, m in leaves if len(p) == deepest]
    consts = [sub.validator_value for sub in error.context if sub.validator == "const"]
    if len(consts) == len(error.context) and len(consts) > 1:
        # A oneOf of constants is an enum (e.g. ButtonStyleTypes): say so once.
        return [(path, f"{error.instance!r} is not one of {sorted(consts)}")]
    return leaves


def _rules_out(sub: ValidationError, union: ValidationError) -> bool:
    """Whether ``sub`` shows its alternative was never meant for this instance: a ``type``
    discriminator mismatch, or a null alternative for a non-null value."""
    depth = len(union.absolute_path)
    if sub.validator == "type" and len(sub.absolute_path) == depth:
        return True
    return (
        sub.validator in ("enum", "const")
        and len(sub.absolute_path) == depth + 1
        and sub.absolute_path[-1] == "type"
    )


def _json_path(path: tuple[Any, ...]) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def _shorten(message: str) -> str:
    return message if len(message) <= 200 else message[:120] + " … " + message[-60:]


def _limit_errors(operation: Operation, body: Any) -> list[str]:
    if not isinstance(body, Mapping):
        return []
    if operation.operation_id in _MESSAGE_OPERATIONS:
        return message_limit_errors(body)
    if operation.operation_id == "create_interaction_response":
        data = body.get("data")
        if body.get("type") in _MESSAGE_CALLBACK_TYPES and isinstance(data, Mapping):
            return [f"data: {problem}" for problem in message_limit_errors(data)]
        if body.get("type") == _AUTOCOMPLETE_RESULT and isinstance(data, Mapping):
            return [f"data.{problem}" for problem in choice_limit_errors(data.get("choices") or [])]
    return []
