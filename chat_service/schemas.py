"""Marshmallow schemas of the requests chat_service takes: XxxIn loads a request (the
answers are in chat_service/answers.py)."""

from __future__ import annotations

import re
from typing import Any, cast

from marshmallow import ValidationError, fields, validate, validates_schema

from shared.web.schemas import MAX_PAGE, PageQuery, StrictSchema

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


# Requests.


class ChatsQuery(PageQuery):
    pass


class NewChatIn(StrictSchema):
    type = fields.String(required=True, validate=validate.OneOf(["group", "direct"]))
    title = _text(MAX_TITLE)
    description = fields.String(validate=validate.Length(max=MAX_DESCRIPTION))
    private = fields.Boolean()
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
    private = fields.Boolean()
    messageTtlSeconds = fields.Integer(
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
    expiresInSeconds = fields.Integer(validate=validate.Range(min=60))


class InviteEnvelope(StrictSchema):
    invite = fields.Nested(InviteIn, load_default=dict)


class HistoryQuery(StrictSchema):
    before = fields.Integer(
        validate=validate.Range(min=1, max=MAX_BIGINT), metadata={"description": "message id"}
    )
    after = fields.Integer(
        validate=validate.Range(min=1, max=MAX_BIGINT), metadata={"description": "message id"}
    )
    afterSeq = fields.Integer(validate=validate.Range(min=0, max=MAX_BIGINT))
    limit = fields.Integer(validate=validate.Range(min=1, max=MAX_PAGE))


class UnreadQuery(StrictSchema):
    limit = fields.Integer(
        validate=validate.Range(min=1, max=1000),
        metadata={"description": "messages per chat (default CHAT_UNREAD_LIMIT)"},
    )


class NewMessageIn(StrictSchema):
    body = fields.String(
        validate=validate.Length(max=MAX_MESSAGE_LENGTH),
        metadata={
            "description": f"at most {MAX_MESSAGE_LENGTH} characters; may be empty "
            "when a file is attached"
        },
    )
    replyTo = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=MAX_BIGINT))
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
    seq = fields.Integer(required=True, validate=validate.Range(min=0, max=MAX_BIGINT))


class ClientEventIn(StrictSchema):
    """A frame a client sends on the websocket."""

    type = fields.String(required=True, validate=validate.OneOf(["ping", "typing", "resume"]))
    chatId = fields.Integer(validate=validate.Range(min=1, max=MAX_BIGINT))
    afterSeq = fields.Integer(validate=validate.Range(min=0, max=MAX_BIGINT))

    @validates_schema
    def _fields_of_type(self, data: dict[str, Any], **_: Any) -> None:
        needed = {"ping": (), "typing": ("chatId",), "resume": ("chatId", "afterSeq")}
        for name in needed[data["type"]]:
            if name not in data:
                raise ValidationError("is required", name)
