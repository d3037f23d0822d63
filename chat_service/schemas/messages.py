"""Schemas of messages: history, sending and editing, scheduled messages, read markers,
unread digests, comments under a message, attachments, and the frames a client sends on the
websocket."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from chat_service.schemas.common import (
    BLANK_DOC,
    MAX_BIGINT,
    MAX_COMMENT_LENGTH,
    MAX_MESSAGE_LENGTH,
    NOT_BLANK_PATTERN,
    PersonOut,
    not_blank,
    query_integer,
    text_field,
)
from shared.web.schemas import MAX_PAGE, PageQuery, StrictInteger, StrictSchema


class HistoryQuery(StrictSchema):
    before = query_integer(1, MAX_BIGINT, metadata={"description": "message id"})
    after = query_integer(1, MAX_BIGINT, metadata={"description": "message id"})
    afterSeq = query_integer(0, MAX_BIGINT)
    limit = query_integer(1, MAX_PAGE)


class UnreadQuery(StrictSchema):
    limit = query_integer(
        1, 1000, metadata={"description": "messages per chat (default CHAT_UNREAD_LIMIT)"}
    )


class NewMessageIn(StrictSchema):
    body = fields.String(
        validate=validate.Length(max=MAX_MESSAGE_LENGTH),
        metadata={
            "description": f"at most {MAX_MESSAGE_LENGTH} characters; may be empty "
            "when a file is attached"
        },
    )
    replyTo = StrictInteger(
        json_only=True, allow_none=True, validate=validate.Range(min=1, max=MAX_BIGINT)
    )
    attachmentId = fields.String(
        allow_none=True,
        validate=validate.Length(min=1, max=64),
        metadata={"description": "an upload of mine (POST /api/chat/attachments)"},
    )
    sendAt = fields.AwareDateTime(
        allow_none=True,
        metadata={"description": "a time in the future: the message is scheduled for it"},
    )

    @validates_schema
    def _says_something(self, data: dict[str, Any], **_: Any) -> None:
        if not not_blank(data.get("body", "")) and data.get("attachmentId") is None:
            raise ValidationError("must not be blank without an attachment", "body")


class NewMessageEnvelope(StrictSchema):
    message = fields.Nested(
        NewMessageIn,
        required=True,
        metadata={
            "description": f"a body {BLANK_DOC}, or an attachment",
            "anyOf": [
                {
                    "title": "a message that says something",
                    "required": ["body"],
                    "properties": {"body": {"pattern": NOT_BLANK_PATTERN}},
                },
                {
                    "title": "a file with or without a caption",
                    "required": ["attachmentId"],
                    "properties": {"attachmentId": {"type": "string"}},
                },
            ],
        },
    )


class MessageEditIn(StrictSchema):
    body = text_field(MAX_MESSAGE_LENGTH, required=True)


class MessageEditEnvelope(StrictSchema):
    message = fields.Nested(MessageEditIn, required=True)


class CommentIn(StrictSchema):
    body = text_field(MAX_COMMENT_LENGTH, required=True)


class CommentEnvelope(StrictSchema):
    comment = fields.Nested(CommentIn, required=True)


class CommentsQuery(PageQuery):
    pass


class ReadIn(StrictSchema):
    seq = StrictInteger(
        json_only=True, required=True, validate=validate.Range(min=0, max=MAX_BIGINT)
    )


class ClientEventIn(StrictSchema):
    """A frame a client sends on the websocket."""

    type = fields.String(required=True, validate=validate.OneOf(["ping", "typing", "resume"]))
    chatId = StrictInteger(json_only=True, validate=validate.Range(min=1, max=MAX_BIGINT))
    afterSeq = StrictInteger(json_only=True, validate=validate.Range(min=0, max=MAX_BIGINT))

    @validates_schema
    def _fields_of_type(self, data: dict[str, Any], **_: Any) -> None:
        needed = {"ping": (), "typing": ("chatId",), "resume": ("chatId", "afterSeq")}
        for name in needed[data["type"]]:
            if name not in data:
                raise ValidationError("is required", name)


# Answers.


class AttachmentOut(Schema):
    id = fields.String(required=True)
    filename = fields.String(required=True)
    contentType = fields.String(required=True)
    size = fields.Integer(required=True)


class AttachmentEnvelopeOut(Schema):
    attachment = fields.Nested(AttachmentOut, required=True)


class MessageOut(Schema):
    id = fields.Integer(required=True)
    chatId = fields.Integer(required=True)
    seq = fields.Integer(
        required=True, allow_none=True, metadata={"description": "null while scheduled"}
    )
    author = fields.Nested(PersonOut, required=True, allow_none=True)
    body = fields.String(required=True, allow_none=True)
    attachment = fields.Nested(AttachmentOut, required=True, allow_none=True)
    replyTo = fields.Integer(required=True, allow_none=True)
    createdAt = fields.String(required=True)
    editedAt = fields.String(required=True, allow_none=True)
    deleted = fields.Boolean(required=True)
    expiresAt = fields.String(required=True, allow_none=True)
    commentsCount = fields.Integer(required=True)
    scheduled = fields.Boolean(metadata={"description": "only on scheduled messages"})
    sendAt = fields.String(metadata={"description": "only on scheduled messages"})


class MessageEnvelopeOut(Schema):
    message = fields.Nested(MessageOut, required=True)


class MessagesOut(Schema):
    messages = fields.List(fields.Nested(MessageOut), required=True)


class ReadOut(Schema):
    chatId = fields.Integer(required=True)
    seq = fields.Integer(required=True)
    unreadCount = fields.Integer(required=True)


class ReadEnvelopeOut(Schema):
    read = fields.Nested(ReadOut, required=True)


class UnreadChatOut(Schema):
    chatId = fields.Integer(required=True)
    title = fields.String(required=True, allow_none=True)
    type = fields.String(required=True)
    lastSeq = fields.Integer(required=True)
    readSeq = fields.Integer(required=True)
    unreadCount = fields.Integer(required=True)
    messages = fields.List(fields.Nested(MessageOut), required=True)


class UnreadOut(Schema):
    chats = fields.List(fields.Nested(UnreadChatOut), required=True)


class CommentOut(Schema):
    id = fields.Integer(required=True)
    messageId = fields.Integer(required=True)
    author = fields.Nested(PersonOut, required=True, allow_none=True)
    body = fields.String(required=True)
    createdAt = fields.String(required=True)


class CommentEnvelopeOut(Schema):
    comment = fields.Nested(CommentOut, required=True)


class CommentsOut(Schema):
    comments = fields.List(fields.Nested(CommentOut), required=True)
