"""The JSON shapes of auth_service: XxxIn to load, XxxOut to dump (and the OpenAPI source)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, post_load, validate
from webargs.fields import DelimitedList

from shared.web.schemas import (
    FullMatch,
    PageQuery,
    StrictInteger,
    StrictSchema,
    check_bigint,
)

# FullMatch, not Regexp: Python's `$` lets a final newline through ("alice\n").
USERNAME = FullMatch(
    r"^[A-Za-z0-9_-]{3,32}$",
    error="must be 3 to 32 letters, digits, '_' or '-'",
)
PASSWORD = validate.Length(min=8, max=256, error="must be 8 to 256 characters long")
# A pattern rather than validate.Email, so that the OpenAPI document states exactly what
# is accepted (apispec documents a Regexp, not an Email validator).
EMAIL = [
    FullMatch(
        r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$",
        error="is not a valid e-mail address",
    ),
    validate.Length(max=254),
]
BIO = validate.Length(max=2000)
# A pattern rather than validate.URL, so that the OpenAPI document states exactly what is
# accepted (apispec documents a Regexp, not a URL validator): an http(s) URL with a host name
# or address, an optional port, and then printable ASCII only (clients percent-encode the rest).
IMAGE = [
    validate.Regexp(
        r"^https?://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?([/?#][!-~]*)?$",
        error="must be an http(s) URL",
    ),
    validate.Length(max=2000),
]


class NewUserIn(StrictSchema):
    username = fields.String(required=True, validate=USERNAME)
    email = fields.String(required=True, validate=EMAIL)
    password = fields.String(required=True, validate=PASSWORD)


class NewUserEnvelope(StrictSchema):
    user = fields.Nested(NewUserIn, required=True)


class LoginIn(StrictSchema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=256))


class LoginEnvelope(StrictSchema):
    user = fields.Nested(LoginIn, required=True)


class UpdateUserIn(StrictSchema):
    username = fields.String(validate=USERNAME)
    email = fields.String(validate=EMAIL)
    password = fields.String(validate=PASSWORD)
    bio = fields.String(allow_none=True, validate=BIO)
    image = fields.String(allow_none=True, validate=IMAGE)

    @post_load
    def _without_final_newline(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        # Python's `$` matches before a final newline, so IMAGE lets one through; a URL
        # never ends with one.
        if data.get("image"):
            data["image"] = data["image"].removesuffix("\n")
        return data


class UpdateUserEnvelope(StrictSchema):
    user = fields.Nested(UpdateUserIn, required=True)


class RefreshIn(StrictSchema):
    refreshToken = fields.String(required=True, validate=validate.Length(min=1, max=200))


class TokenIn(StrictSchema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=200))


class ResetRequestIn(StrictSchema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))


class ResetConfirmIn(StrictSchema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=200))
    password = fields.String(required=True, validate=PASSWORD)


class UsersQuery(PageQuery):
    pass


class IdsQuery(StrictSchema):
    ids = DelimitedList(
        StrictInteger(validate=check_bigint), required=True, validate=validate.Length(max=500)
    )


class RevokedQuery(StrictSchema):
    after = fields.String(validate=FullMatch(r"^-?[0-9]{1,20}\.[0-9a-f-]{0,36}$"))


class RevokedSessionOut(Schema):
    id = fields.String(required=True)
    expiresAt = fields.Float(required=True)  # seconds since the epoch


class RevokedSessionsOut(Schema):
    sessions = fields.List(fields.Nested(RevokedSessionOut), required=True)
    cursor = fields.String(allow_none=True, required=True)
    more = fields.Boolean(required=True)


class UserOut(Schema):
    email = fields.String(required=True)
    token = fields.String(required=True)
    username = fields.String(required=True)
    bio = fields.String(allow_none=True, required=True)
    image = fields.String(allow_none=True, required=True)
    emailConfirmed = fields.Boolean(required=True)
    role = fields.String(required=True, validate=validate.OneOf(["user", "moderator", "admin"]))
    refreshToken = fields.String(allow_none=True, required=True)


class UserEnvelopeOut(Schema):
    user = fields.Nested(UserOut, required=True)


class PublicUserOut(Schema):
    """A user's public fields as auth owns them (social_service adds follows to make a Profile)."""

    username = fields.String(required=True)
    bio = fields.String(allow_none=True, required=True)
    image = fields.String(allow_none=True, required=True)


class PublicUsersOut(Schema):
    profiles = fields.List(fields.Nested(PublicUserOut), required=True)
    profilesCount = fields.Integer(required=True)


class InternalUserOut(PublicUserOut):
    id = fields.Integer(required=True)


class InternalUsersOut(Schema):
    users = fields.List(fields.Nested(InternalUserOut), required=True)


class JwksOut(Schema):
    keys = fields.List(fields.Dict(), required=True)


class InternalUserEnvelopeOut(Schema):
    user = fields.Nested(InternalUserOut, required=True)


class ConfirmedUserOut(InternalUserOut):
    emailConfirmed = fields.Boolean(required=True)


class ConfirmedUserEnvelopeOut(Schema):
    user = fields.Nested(ConfirmedUserOut, required=True)


class StandingUserOut(ConfirmedUserOut):
    createdAt = fields.String(required=True)
    role = fields.String(required=True)


class RoleIn(StrictSchema):
    role = fields.String(required=True, validate=validate.OneOf(["user", "moderator", "admin"]))


class StandingEnvelopeOut(Schema):
    user = fields.Nested(StandingUserOut, required=True)


class StatusOut(Schema):
    """What was done, for routes that return no resource."""

    status = fields.String(required=True)
