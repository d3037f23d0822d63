"""Schemas of chats: groups and direct chats, their members, invite links and join requests."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from chat_service.schemas.common import (
    MAX_DESCRIPTION,
    MAX_TITLE,
    MAX_TTL,
    MAX_USERNAME,
    PersonOut,
    StrictBoolean,
    text_field,
)
from chat_service.schemas.messages import MessageOut
from shared.web.schemas import PageQuery, StrictInteger, StrictSchema


def _only(kind: str, required: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    """The fields one `type` of new chat takes, the constraints of each left to NewChatIn."""
    return {
        "title": f"a {kind} chat",
        "properties": {"type": {"enum": [kind]}, **{name: {} for name in allowed}},
        "required": ["type", required],
        "additionalProperties": False,
    }


class ChatsQuery(PageQuery):
    pass


class NewChatIn(StrictSchema):
    type = fields.String(required=True, validate=validate.OneOf(["group", "direct"]))
    title = text_field(MAX_TITLE)
    description = fields.String(validate=validate.Length(max=MAX_DESCRIPTION))
    private = StrictBoolean()
    username = fields.String(validate=validate.Length(min=1, max=MAX_USERNAME))

    @validates_schema
    def _fields_of_type(self, data: dict[str, Any], **_: Any) -> None:
        if data["type"] == "group":
            if "title" not in data:
                raise ValidationError("is required for a group chat", "title")
            if "username" in data:
                raise ValidationError("is only for a direct chat", "username")
        else:
            if "username" not in data:
                raise ValidationError("is required for a direct chat", "username")
            extra = [name for name in ("title", "description", "private") if name in data]
            if extra:
                raise ValidationError("is only for a group chat", extra[0])


class NewChatEnvelope(StrictSchema):
    chat = fields.Nested(
        NewChatIn,
        required=True,
        metadata={
            "description": "a group chat (a title) or a direct chat (a username)",
            "oneOf": [
                _only("group", "title", ("title", "description", "private")),
                _only("direct", "username", ("username",)),
            ],
        },
    )


class ChatChangesIn(StrictSchema):
    title = text_field(MAX_TITLE)
    description = fields.String(validate=validate.Length(max=MAX_DESCRIPTION))
    private = StrictBoolean()
    messageTtlSeconds = StrictInteger(
        json_only=True,
        allow_none=True,
        validate=validate.Range(min=1, max=MAX_TTL),
        metadata={"description": "seconds a message lives; null keeps history"},
    )

    @validates_schema
    def _something(self, data: dict[str, Any], **_: Any) -> None:
        if not data:
            raise ValidationError("name at least one field to change", "chat")


class ChatChangesEnvelope(StrictSchema):
    chat = fields.Nested(
        ChatChangesIn,
        required=True,
        metadata={"description": "at least one field to change", "minProperties": 1},
    )


class MemberIn(StrictSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=MAX_USERNAME))


class InviteIn(StrictSchema):
    # Within CHAT_INVITE_MAX_TTL too, a setting (30 days by default): 422 beyond it.
    expiresInSeconds = StrictInteger(json_only=True, validate=validate.Range(min=60, max=MAX_TTL))


class InviteEnvelope(StrictSchema):
    invite = fields.Nested(InviteIn, load_default=dict)


# Answers.


class ChatOut(Schema):
    id = fields.Integer(required=True)
    type = fields.String(required=True, validate=validate.OneOf(["general", "direct", "group"]))
    title = fields.String(required=True, allow_none=True)
    description = fields.String(required=True)
    private = fields.Boolean(required=True)
    owner = fields.Nested(PersonOut, required=True, allow_none=True)
    messageTtlSeconds = fields.Integer(required=True, allow_none=True)
    createdAt = fields.String(required=True)
    lastSeq = fields.Integer(required=True)
    lastMessage = fields.Nested(MessageOut, required=True, allow_none=True)
    unreadCount = fields.Integer(required=True)


class MemberOut(Schema):
    username = fields.String(required=True)
    image = fields.String(required=True, allow_none=True)
    online = fields.Boolean(required=True)
    role = fields.String(required=True, validate=validate.OneOf(["owner", "member"]))


class ChatDetailOut(ChatOut):
    members = fields.List(fields.Nested(MemberOut), required=True)
    membersCount = fields.Integer(required=True)


class ChatEnvelopeOut(Schema):
    chat = fields.Nested(ChatOut, required=True)


class ChatDetailEnvelopeOut(Schema):
    chat = fields.Nested(ChatDetailOut, required=True)


class ChatsOut(Schema):
    chats = fields.List(fields.Nested(ChatOut), required=True)
    chatsCount = fields.Integer(required=True)


class MemberEnvelopeOut(Schema):
    member = fields.Nested(MemberOut, required=True)


class InviteOut(Schema):
    code = fields.String(required=True)
    url = fields.String(required=True)
    expiresAt = fields.String(required=True)


class InviteEnvelopeOut(Schema):
    invite = fields.Nested(InviteOut, required=True)


class ActiveInviteOut(Schema):
    id = fields.String(
        required=True,
        metadata={
            "description": "identifies the link (the code itself is never stored); "
            "DELETE .../invites/{id} revokes it as its code does"
        },
    )
    createdBy = fields.Nested(PersonOut, required=True, allow_none=True)
    createdAt = fields.String(required=True)
    expiresAt = fields.String(required=True)


class InvitesOut(Schema):
    invites = fields.List(fields.Nested(ActiveInviteOut), required=True)


class JoinRequestOut(Schema):
    id = fields.Integer(required=True)
    chatId = fields.Integer(required=True)
    user = fields.Nested(PersonOut, required=True)
    createdAt = fields.String(required=True)
    status = fields.String(
        required=True, validate=validate.OneOf(["pending", "approved", "rejected"])
    )


class JoinRequestEnvelopeOut(Schema):
    joinRequest = fields.Nested(JoinRequestOut, required=True)


class JoinRequestsOut(Schema):
    joinRequests = fields.List(fields.Nested(JoinRequestOut), required=True)
