"""chat_service's document and its validation agree: what the schema of a request body
allows the service loads, what it forbids the service refuses, across fields and for blank
text; and the nested objects of answers are checked even where they may be null."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from aiohttp import web
from aiohttp_apigami import setup_aiohttp_apispec
from aiohttp_apigami.constants import SWAGGER_DICT
from marshmallow import Schema, ValidationError
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

from chat_service.routes import ROUTES
from chat_service.schemas.chats import ChatChangesEnvelope, NewChatEnvelope
from chat_service.schemas.common import not_blank
from chat_service.schemas.messages import CommentEnvelope, MessageEditEnvelope, NewMessageEnvelope
from chat_service.schemas.moderation import ReportIn
from shared.web.openapi import complete_document

# ECMA-262's WhiteSpace and LineTerminator: what \s means to a JSON Schema `pattern`.
ECMA_WHITESPACE = frozenset(
    "\t\n\v\f\r \xa0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff"
    + "".join(map(chr, range(0x2000, 0x200B)))
)


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    app = web.Application()
    app.router.add_routes(ROUTES)
    setup_aiohttp_apispec(app, url="", openapi_version="3.0.3", in_place=True)
    built: dict[str, Any] = app[SWAGGER_DICT]
    complete_document(built)
    validate(built)
    return built


def documented(document: dict[str, Any], component: str, body: Any) -> bool:
    root = {"allOf": [{"$ref": f"#/components/schemas/{component}"}], **document}
    return bool(OAS30Validator(root).is_valid(body))


def loaded(schema: type[Schema], body: Any) -> bool:
    try:
        schema().load(body)
    except ValidationError:
        return False
    return True


def test_blank_is_whitespace_in_either_dialect() -> None:
    for point in range(sys.maxunicode + 1):
        if 0xD800 <= point <= 0xDFFF:
            continue
        char = chr(point)
        blank = char.isspace() or char in ECMA_WHITESPACE
        assert not_blank(char) is not blank, hex(point)
        assert not_blank(f"{char}{char}x{char}")


GROUP = {"type": "group", "title": "t"}
DIRECT = {"type": "direct", "username": "bob"}
BODIES: list[tuple[type[Schema], dict[str, Any], bool]] = [
    (NewChatEnvelope, {"chat": GROUP}, True),
    (NewChatEnvelope, {"chat": {**GROUP, "description": "", "private": True}}, True),
    (NewChatEnvelope, {"chat": {**GROUP, "title": " t "}}, True),
    (NewChatEnvelope, {"chat": {**GROUP, "title": "\ufeff\x1c"}}, False),
    (NewChatEnvelope, {"chat": {"type": "group"}}, False),
    (NewChatEnvelope, {"chat": {**GROUP, "username": "bob"}}, False),
    (NewChatEnvelope, {"chat": DIRECT}, True),
    (NewChatEnvelope, {"chat": {"type": "direct"}}, False),
    (NewChatEnvelope, {"chat": {**DIRECT, "title": "t"}}, False),
    (NewChatEnvelope, {"chat": {**DIRECT, "private": False}}, False),
    (NewChatEnvelope, {"chat": {**DIRECT, "description": ""}}, False),
    (NewChatEnvelope, {"chat": {"username": "bob"}}, False),
    (ChatChangesEnvelope, {"chat": {}}, False),
    (ChatChangesEnvelope, {"chat": {"private": True}}, True),
    (ChatChangesEnvelope, {"chat": {"messageTtlSeconds": None}}, True),
    (ChatChangesEnvelope, {"chat": {"title": "\x85"}}, False),
    (ChatChangesEnvelope, {"chat": {"title": "\u200b"}}, True),
    (NewMessageEnvelope, {"message": {}}, False),
    (NewMessageEnvelope, {"message": {"body": ""}}, False),
    (NewMessageEnvelope, {"message": {"body": " \x85\u3000"}}, False),
    (NewMessageEnvelope, {"message": {"body": " hi"}}, True),
    (NewMessageEnvelope, {"message": {"body": "hi", "attachmentId": None}}, True),
    (NewMessageEnvelope, {"message": {"attachmentId": "a1"}}, True),
    (NewMessageEnvelope, {"message": {"body": " ", "attachmentId": "a1"}}, True),
    (NewMessageEnvelope, {"message": {"body": "", "attachmentId": None}}, False),
    (NewMessageEnvelope, {"message": {"attachmentId": None, "replyTo": 1}}, False),
    (MessageEditEnvelope, {"message": {"body": " edited"}}, True),
    (MessageEditEnvelope, {"message": {"body": "\x1f\t"}}, False),
    (CommentEnvelope, {"comment": {"body": "\n!"}}, True),
    (CommentEnvelope, {"comment": {"body": "\u2028"}}, False),
    (ReportIn, {"reason": "  spam"}, True),
    (ReportIn, {"reason": "\xa0"}, False),
]


@pytest.mark.parametrize(("schema", "body", "valid"), BODIES)
def test_the_document_allows_what_the_service_loads(
    document: dict[str, Any], schema: type[Schema], body: dict[str, Any], valid: bool
) -> None:
    assert loaded(schema, body) is valid
    assert documented(document, schema.__name__, body) is valid


def test_a_nested_answer_that_may_be_null_is_checked_when_it_is_not(
    document: dict[str, Any],
) -> None:
    message = {
        "id": 1,
        "chatId": 1,
        "seq": 1,
        "author": None,
        "body": "hi",
        "attachment": None,
        "replyTo": None,
        "createdAt": "2026-01-01T00:00:00.000Z",
        "editedAt": None,
        "deleted": False,
        "expiresAt": None,
        "commentsCount": 0,
    }
    assert documented(document, "MessageOut", message)
    person = {"username": "bob", "image": None}
    assert documented(document, "MessageOut", {**message, "author": person})
    assert not documented(document, "MessageOut", {**message, "author": {"name": "bob"}})
    assert not documented(document, "MessageOut", {**message, "attachment": {}})
