"""Marshmallow schemas of chat_service, the OpenAPI source: XxxIn loads, XxxOut answers."""

from __future__ import annotations

import re
from typing import Any, cast

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared.web.schemas import MAX_PAGE, PageQuery, StrictInteger, StrictSchema

# Limits of what a client may send.
MAX_MESSAGE_LENGTH = 4000
MAX_COMMENT_LENGTH = 2000
MAX_REASON = 1000
MAX_TITLE = 100
MAX_DESCRIPTION = 1000
MAX_USERNAME = 64
MAX_TTL = 365 * 24 * 3600
# Ids and seqs are PostgreSQL bigints: a larger number names nothing, and must not reach the
# driver, which cannot encode it.
MAX_BIGINT = 2**63 - 1

# Blank text is whitespace only, where whitespace is what either dialect a client may check
# with calls so: Python's (str.isspace, which `re`'s \s follows) and ECMA-262's (the one of
# JSON Schema's `pattern`, which adds U+FEFF and leaves out U+001C-U+001F and U+0085). The
# document spells the class out rather than writing \S, so every engine refuses the same text.
WHITESPACE = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
NOT_BLANK_PATTERN = f"[^{WHITESPACE}]"
BLANK_DOC = "not blank: a character other than whitespace (the pattern's class)"


class StrictBoolean(fields.Boolean):
    """true or false only: "yes", 1 and "true" are refused, never coerced."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class Contains(validate.Regexp):
    """A Regexp that may match anywhere, as JSON Schema's `pattern` does: marshmallow's
    Regexp anchors at the start (re.match), apispec documents either as `pattern`."""

    def __call__(self, value: str) -> str:  # type: ignore[override]
        if cast("re.Pattern[str]", self.regex).search(value) is None:
            raise ValidationError(self._format_error(value))
        return value


NOT_BLANK = Contains(NOT_BLANK_PATTERN, error="must not be blank")
_NOT_BLANK = re.compile(NOT_BLANK_PATTERN)


def not_blank(text: str) -> bool:
    return _NOT_BLANK.search(text) is not None


def _text(maximum: int, **options: Any) -> fields.String:
    """A text that must say something."""
    return fields.String(
        validate=[validate.Length(min=1, max=maximum), NOT_BLANK],
        metadata={"description": f"at most {maximum} characters; {BLANK_DOC}"},
        **options,
    )


def _only(kind: str, required: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    """The fields one `type` of new chat takes, the constraints of each left to NewChatIn."""
    return {
        "title": f"a {kind} chat",
        "properties": {"type": {"enum": [kind]}, **{name: {} for name in allowed}},
        "required": ["type", required],
        "additionalProperties": False,
    }


def _query_integer(minimum: int, maximum: int, **options: Any) -> StrictInteger:
    """An integer of the query string: ASCII digits only (text by nature, not JSON)."""
    return StrictInteger(validate=validate.Range(min=minimum, max=maximum), **options)


class ChatsQuery(PageQuery):
    pass


class NewChatIn(StrictSchema):
    type = fields.String(required=True, validate=validate.OneOf(["group", "direct"]))
    title = _text(MAX_TITLE)
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
    title = _text(MAX_TITLE)
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


class HistoryQuery(StrictSchema):
    before = _query_integer(1, MAX_BIGINT, metadata={"description": "message id"})
    after = _query_integer(1, MAX_BIGINT, metadata={"description": "message id"})
    afterSeq = _query_integer(0, MAX_BIGINT)
    limit = _query_integer(1, MAX_PAGE)


class UnreadQuery(StrictSchema):
    limit = _query_integer(
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
    body = _text(MAX_MESSAGE_LENGTH, required=True)


class MessageEditEnvelope(StrictSchema):
    message = fields.Nested(MessageEditIn, required=True)


class CommentIn(StrictSchema):
    body = _text(MAX_COMMENT_LENGTH, required=True)


class CommentEnvelope(StrictSchema):
    comment = fields.Nested(CommentIn, required=True)


class CommentsQuery(PageQuery):
    pass


class ReportIn(StrictSchema):
    reason = _text(MAX_REASON, required=True)


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


class ReservationOut(Schema):
    startsAt = fields.String(required=True)
    resetsAt = fields.String(required=True)
    reserved = fields.Integer(
        required=True, metadata={"description": "places my scheduled messages hold"}
    )


class BudgetOut(Schema):
    limit = fields.Integer(required=True, metadata={"description": "0: no limit"})
    remaining = fields.Integer(
        required=True, metadata={"description": "places left now (reserved ones are taken)"}
    )
    reserved = fields.Integer(
        required=True,
        metadata={"description": "places of this period held by my scheduled messages"},
    )
    periodSeconds = fields.Integer(required=True)
    resetsAt = fields.String(required=True)
    reservations = fields.List(
        fields.Nested(ReservationOut),
        required=True,
        metadata={"description": "later periods where my scheduled messages hold places"},
    )


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


# Moderation (moderators and admins).


class ModerationReasonQuery(StrictSchema):
    reason = fields.String(
        validate=validate.Length(max=MAX_REASON),
        metadata={"description": "why a moderator removes it (kept in the audit log)"},
    )


class ReportsQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(["open", "resolved"]))


class QueuedReportOut(Schema):
    id = fields.Integer(required=True)
    reporter = fields.Nested(PersonOut, required=True)
    reported = fields.Nested(PersonOut, required=True)
    reason = fields.String(required=True)
    counted = fields.Boolean(
        required=True, metadata={"description": "whether it counted toward the automatic ban"}
    )
    createdAt = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["open", "resolved"]))
    resolution = fields.String(
        required=True, allow_none=True, validate=validate.OneOf(["dismissed", "upheld"])
    )


class ReportsOut(Schema):
    reports = fields.List(fields.Nested(QueuedReportOut), required=True)
    reportsCount = fields.Integer(required=True)


class QueuedReportEnvelopeOut(Schema):
    report = fields.Nested(QueuedReportOut, required=True)


class ResolveIn(StrictSchema):
    action = fields.String(required=True, validate=validate.OneOf(["dismiss", "uphold"]))
    note = fields.String(validate=validate.Length(max=MAX_REASON))


class NewBanIn(StrictSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=MAX_USERNAME))
    seconds = StrictInteger(
        json_only=True, required=True, validate=validate.Range(min=1, max=MAX_TTL)
    )
    reason = _text(MAX_REASON, required=True)


class NewBanEnvelope(StrictSchema):
    ban = fields.Nested(NewBanIn, required=True)


class ActiveBanOut(Schema):
    user = fields.Nested(PersonOut, required=True)
    until = fields.String(required=True)
    reason = fields.String(required=True)
    by = fields.Nested(
        PersonOut, required=True, allow_none=True, metadata={"description": "null: automatic"}
    )


class BansOut(Schema):
    bans = fields.List(fields.Nested(ActiveBanOut), required=True)


class BanEnvelopeOut(Schema):
    ban = fields.Nested(ActiveBanOut, required=True)


class LogEntryOut(Schema):
    id = fields.Integer(required=True)
    moderator = fields.String(required=True, metadata={"description": "username when acting"})
    service = fields.String(required=True)
    action = fields.String(required=True)
    target = fields.String(required=True)
    reason = fields.String(required=True, allow_none=True)
    createdAt = fields.String(required=True)


class LogOut(Schema):
    entries = fields.List(fields.Nested(LogEntryOut), required=True)


class RoleIn(StrictSchema):
    role = fields.String(required=True, validate=validate.OneOf(["user", "moderator", "admin"]))


class RoleUserOut(Schema):
    username = fields.String(required=True)
    image = fields.String(required=True, allow_none=True)
    role = fields.String(required=True)


class RoleEnvelopeOut(Schema):
    user = fields.Nested(RoleUserOut, required=True)
