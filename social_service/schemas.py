"""The JSON shapes of social_service."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared.web.schemas import PageQuery, ProfileOut, StrictInteger, StrictSchema, check_bigint

IDS = fields.List(
    StrictInteger(validate=check_bigint), load_default=list, validate=validate.Length(max=100)
)


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
    viewerId = StrictInteger(load_default=None, allow_none=True, validate=check_bigint)


class RecipeIn(StrictSchema):
    authorId = StrictInteger(required=True, validate=check_bigint)
    slug = fields.String(required=True, validate=validate.Length(max=300))
    title = fields.String(required=True, validate=validate.Length(max=1000))


class LikeIn(StrictSchema):
    """What posts tells of the recipe liked: social's event carries it to notifications."""

    recipe = fields.Nested(RecipeIn, required=True)


class LikeOut(Schema):
    articleId = fields.Integer(required=True)
    favorited = fields.Boolean(required=True)
    favoritesCount = fields.Integer(required=True)


class ArticleFactsOut(Schema):
    favoritesCount = fields.Integer(required=True)
    favorited = fields.Boolean(required=True, metadata={"description": "false without a viewer"})


class AuthorFactsOut(Schema):
    following = fields.Boolean(required=True, metadata={"description": "false without a viewer"})
    followersCount = fields.Integer(required=True)
    followingCount = fields.Integer(required=True)


class SummaryOut(Schema):
    """A page's facts, keyed by article id and by author id (as strings, being JSON keys)."""

    articles = fields.Dict(
        keys=fields.String(), values=fields.Nested(ArticleFactsOut), required=True
    )
    authors = fields.Dict(keys=fields.String(), values=fields.Nested(AuthorFactsOut), required=True)


class IdsOut(Schema):
    ids = fields.List(fields.Integer(), required=True)
