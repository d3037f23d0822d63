"""The JSON shapes of social_service."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared.web.schemas import PageQuery, ProfileOut, StrictSchema

IDS = fields.List(fields.Integer(), load_default=list, validate=validate.Length(max=100))


class ProfileEnvelopeOut(Schema):
    profile = fields.Nested(ProfileOut, required=True)


class ProfilesOut(Schema):
    profiles = fields.List(fields.Nested(ProfileOut), required=True)
    profilesCount = fields.Integer(required=True)


class ProfilesQuery(PageQuery):
    pass


class SummaryIn(StrictSchema):
    articleIds = IDS
    authorIds = IDS
    viewerId = fields.Integer(load_default=None, allow_none=True)


class LikeOut(Schema):
    articleId = fields.Integer(required=True)
    favorited = fields.Boolean(required=True)
    favoritesCount = fields.Integer(required=True)
