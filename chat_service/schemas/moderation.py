"""Schemas of safety: reports of users, my status (bans, send budget), and the moderators'
routes (the report queue, bans, the audit log, roles)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from chat_service.schemas.common import MAX_REASON, MAX_TTL, MAX_USERNAME, PersonOut, text_field
from shared.web.schemas import PageQuery, StrictInteger, StrictSchema


class ReportIn(StrictSchema):
    reason = text_field(MAX_REASON, required=True)


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


# The moderators' routes (moderators and admins).


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
    reason = text_field(MAX_REASON, required=True)


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
