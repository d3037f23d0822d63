"""Marshmallow schemas of the notifications' routes (the OpenAPI source): XxxIn loads, XxxOut
answers. Their shapes are the "Notifications" part of API.md."""

from __future__ import annotations

import re

from marshmallow import Schema, fields, validate

from chat_service.notifications import TYPES
from chat_service.schemas.common import MAX_BIGINT, PersonOut
from shared.web.schemas import MAX_PAGE, FullMatch, StrictInteger, StrictSchema

MAX_READ_IDS = 500
_TYPE = "|".join(re.escape(kind) for kind in TYPES)
# Names of TYPES separated by commas (spaces around them allowed).
TYPES_PATTERN = f"^ *({_TYPE})? *(, *({_TYPE})? *)*$"


class NotificationsQuery(StrictSchema):
    before = StrictInteger(
        validate=validate.Range(min=1, max=MAX_BIGINT),
        metadata={"description": "a notification id (`nextCursor`): the page starts below it"},
    )
    limit = StrictInteger(load_default=20, validate=validate.Range(min=1, max=MAX_PAGE))
    types = fields.String(
        validate=[validate.Length(max=200), FullMatch(TYPES_PATTERN)],
        metadata={"description": f"comma-separated types to list: {', '.join(TYPES)}"},
    )


class ReadNotificationsIn(StrictSchema):
    """Marks read every notification up to `upTo`, and those of `ids`; `{}` marks all."""

    upTo = StrictInteger(
        json_only=True,
        validate=validate.Range(min=1, max=MAX_BIGINT),
        metadata={"description": "every notification with this id or below"},
    )
    ids = fields.List(
        StrictInteger(json_only=True, validate=validate.Range(min=1, max=MAX_BIGINT)),
        validate=validate.Length(min=1, max=MAX_READ_IDS),
        metadata={"description": f"these notifications (at most {MAX_READ_IDS})"},
    )


class ArticleRefOut(Schema):
    slug = fields.String(required=True)
    title = fields.String(required=True, allow_none=True)


class CommentRefOut(Schema):
    id = fields.Integer(required=True)
    body = fields.String(required=True, allow_none=True)


class ChatRefOut(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True, allow_none=True)


class MessageRefOut(Schema):
    id = fields.Integer(required=True)
    seq = fields.Integer(required=True, allow_none=True)


class NotificationOut(Schema):
    id = fields.Integer(required=True)
    type = fields.String(required=True, validate=validate.OneOf(TYPES))
    actor = fields.Nested(PersonOut, required=True, allow_none=True)
    article = fields.Nested(ArticleRefOut, required=True, allow_none=True)
    comment = fields.Nested(CommentRefOut, required=True, allow_none=True)
    chat = fields.Nested(ChatRefOut, required=True, allow_none=True)
    message = fields.Nested(MessageRefOut, required=True, allow_none=True)
    reason = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "a moderator's reason; `approved` or `rejected` for a join"},
    )
    createdAt = fields.String(required=True)
    read = fields.Boolean(required=True)


class NotificationsOut(Schema):
    notifications = fields.List(fields.Nested(NotificationOut), required=True)
    unreadCount = fields.Integer(required=True)
    nextCursor = fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "`before` of the next page; null on the last"},
    )


class UnreadNotificationsOut(Schema):
    unreadCount = fields.Integer(required=True)
