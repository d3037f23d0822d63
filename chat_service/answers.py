"""Marshmallow schemas of chat_service's answers: XxxOut documents an answer."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class PersonOut(Schema):
    username = fields.String(required=True, allow_none=True)
    image = fields.String(required=True, allow_none=True)


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


class ReportOut(Schema):
    id = fields.Integer(required=True)
    user = fields.Nested(PersonOut, required=True)
    reason = fields.String(required=True)
    createdAt = fields.String(required=True)


class ReportEnvelopeOut(Schema):
    report = fields.Nested(ReportOut, required=True)


class BanOut(Schema):
    reason = fields.String(required=True)
    startsAt = fields.String(required=True)
    endsAt = fields.String(required=True)


class BudgetOut(Schema):
    limit = fields.Integer(required=True, metadata={"description": "0: no limit"})
    remaining = fields.Integer(required=True)
    periodSeconds = fields.Integer(required=True)
    resetsAt = fields.String(required=True)


class StatusChatOut(Schema):
    chatId = fields.Integer(required=True)
    title = fields.String(required=True, allow_none=True)
    unreadCount = fields.Integer(required=True)


class StatusOut(Schema):
    bans = fields.List(fields.Nested(BanOut), required=True)
    sendBudget = fields.Nested(BudgetOut, required=True)
    devices = fields.Integer(required=True, metadata={"description": "my connected websockets"})
    chats = fields.List(fields.Nested(StatusChatOut), required=True)


class StatusEnvelopeOut(Schema):
    status = fields.Nested(StatusOut, required=True)
