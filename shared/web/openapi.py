"""Completes apigami's OpenAPI document of a service: valid OpenAPI 3, and every error answer
a route can give, in the error format of API.md."""

from __future__ import annotations

import re
from typing import Any

from shared.web.errors import default_message

_OPERATIONS = ("get", "put", "post", "delete", "patch", "head", "options")
_WRITES = ("post", "put", "patch", "delete")

ERROR_REF = "#/components/schemas/Error"
# API.md: `body` always, and one key per field at fault. Field names are free text (login
# answers "email or password"), so they are additionalProperties, not properties.
MESSAGES: dict[str, Any] = {"type": "array", "items": {"type": "string"}}
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["errors"],
    "properties": {
        "errors": {
            "type": "object",
            "required": ["body"],
            "properties": {"body": {**MESSAGES, "minItems": 1}},
            "additionalProperties": MESSAGES,
        }
    },
    "additionalProperties": False,
}
# apispec writes a nullable nested schema as anyOf [{type: object, nullable: true}, $ref], whose
# first branch takes any object, so an answer's nested shape was never checked. This branch
# takes null alone: OAS 3.0.3's nullable adds null to `type`, and the enum keeps only null
# (allOf [$ref] with nullable would not do: the nullable of OAS 3.0.3 does not reach into a $ref).
NULL_ONLY: dict[str, Any] = {"type": "object", "nullable": True, "enum": [None]}
_ANY_OBJECT_OR_NULL = {"type": "object", "nullable": True}
RETRY_AFTER = {
    "Retry-After": {"description": "seconds to wait", "schema": {"type": "integer", "minimum": 1}}
}


def error_response(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": default_message(status),
        "content": {"application/json": {"schema": {"$ref": ERROR_REF}}},
    }
    if status in (429, 503):
        response["headers"] = RETRY_AFTER
    return response


def errors(*statuses: int) -> dict[int, dict[str, Any]]:
    """For `@docs(responses=...)`: error answers a handler gives beyond the ones every route
    of its kind gets (see `_error_statuses`)."""
    return {status: error_response(status) for status in statuses}


def _error_statuses(operation: dict[str, Any], method: str, has_path_params: bool) -> set[int]:
    parameters = operation.get("parameters", [])
    has_body = "requestBody" in operation
    # Every public route passes the gateway's rate limits; any may meet a database outage,
    # and any request may be malformed HTTP (a Content-Length that is no number, say: 400).
    statuses = {400, 429, 503}
    if has_body:
        statuses |= {413, 422}
    if any(p.get("in") in ("query", "header") for p in parameters):
        statuses |= {422}
    if has_path_params:
        statuses |= {404, 422}
    if operation.get("security"):
        statuses.add(401)
        if method in _WRITES:
            # Authenticated writes are refused to those who may not make them (the author,
            # the owner, a ban); each of those routes answers 403.
            statuses.add(403)
    if any(p.get("name") == "Idempotency-Key" for p in parameters):
        statuses.add(409)  # the same key while the first request is in progress
    return statuses


# RFC 6455's opening handshake, which an operation answering 101 requires: without it the
# request is malformed (400). Clients send these headers themselves (browsers always do).
# Connection: Upgrade is left out: it is hop-by-hop, and the gateway writes its own.
HANDSHAKE: list[dict[str, Any]] = [
    {"in": "header", "name": name, "required": True, "schema": schema}
    for name, schema in (
        ("Upgrade", {"type": "string", "enum": ["websocket"]}),
        ("Sec-WebSocket-Version", {"type": "string", "enum": ["13"]}),
        # 16 random bytes in base64.
        ("Sec-WebSocket-Key", {"type": "string", "pattern": "^[A-Za-z0-9+/]{21}[AQgw]==$"}),
    )
]


def _websockets(operations: dict[str, Any]) -> None:
    """A websocket is opened by a GET with the handshake's headers; aiohttp's HEAD beside it
    answers no handshake, so it is not an operation of the document."""
    get = operations.get("get")
    if get is None or "101" not in {str(status) for status in get.get("responses", {})}:
        return
    operations.pop("head", None)
    parameters = get.setdefault("parameters", [])
    present = {(p.get("in"), p.get("name")) for p in parameters}
    parameters.extend(p for p in HANDSHAKE if (p["in"], p["name"]) not in present)


def _strict_nullable(node: Any) -> None:
    if isinstance(node, dict):
        branches = node.get("anyOf")
        if isinstance(branches, list) and _ANY_OBJECT_OR_NULL in branches:
            node["anyOf"] = [
                *(branch for branch in branches if branch != _ANY_OBJECT_OR_NULL),
                dict(NULL_ONLY),
            ]
        for value in node.values():
            _strict_nullable(value)
    elif isinstance(node, list):
        for item in node:
            _strict_nullable(item)


def complete_document(document: dict[str, Any]) -> None:
    """Makes apigami's document valid OpenAPI 3 (it leaves Swagger 2's `produces` behind and
    omits path parameters) and documents the error answers of every operation."""
    document.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    _strict_nullable(document)
    for path, operations in document.get("paths", {}).items():
        # aiohttp answers HEAD for every GET route by itself; listing each twin would only
        # clutter the document and the clients generated from it (HEAD is still answered).
        operations.pop("head", None)
        _websockets(operations)
        declared = re.findall(r"{([^}:]+)", path)
        for method, operation in operations.items():
            if method not in _OPERATIONS:
                continue
            operation.pop("produces", None)
            operation.pop("consumes", None)
            if "requestBody" in operation:
                # Every route with a body refuses a request without one (422).
                operation["requestBody"]["required"] = True
            responses = operation.setdefault("responses", {})
            if not any(str(code).startswith("2") for code in responses):
                # No success schema declared: the handler's success answer is undocumented.
                responses.setdefault("default", {"description": "Success"})
            for response in responses.values():
                response["description"] = response.get("description") or "Success"
            parameters = operation.setdefault("parameters", [])
            present = {(p.get("in"), p.get("name")) for p in parameters}
            for name in declared:
                if ("path", name) not in present:
                    parameters.append(
                        {"in": "path", "name": name, "required": True, "schema": {"type": "string"}}
                    )
            for status in sorted(_error_statuses(operation, method, bool(declared))):
                responses.setdefault(str(status), error_response(status))
