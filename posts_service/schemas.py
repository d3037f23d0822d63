"""The JSON shapes of posts_service."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from posts_service.cursors import CURSOR_PATTERN, Cursor
from shared.web.schemas import MAX_PAGE, ProfileOut, StrictInteger, StrictSchema

TAG = fields.String(validate=validate.Length(max=40))  # empty ones are dropped


class IngredientIn(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    quantity = fields.String(load_default="", validate=validate.Length(max=50))


class ArticleFields(StrictSchema):
    title = fields.String(validate=validate.Length(min=1, max=200))
    description = fields.String(validate=validate.Length(max=1000))
    body = fields.String(validate=validate.Length(min=1, max=100_000))
    tagList = fields.List(TAG, validate=validate.Length(max=20))
    complexity = fields.String(allow_none=True, validate=validate.OneOf(["easy", "medium", "hard"]))
    cookingMinutes = StrictInteger(allow_none=True, validate=validate.Range(min=0, max=100_000))
    ingredients = fields.List(fields.Nested(IngredientIn), validate=validate.Length(max=100))
    media = fields.List(
        fields.String(validate=validate.Length(max=64)), validate=validate.Length(max=20)
    )


class NewArticleIn(ArticleFields):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(required=True, validate=validate.Length(max=1000))
    body = fields.String(required=True, validate=validate.Length(min=1, max=100_000))


class NewArticleEnvelope(StrictSchema):
    article = fields.Nested(NewArticleIn, required=True)


class UpdateArticleEnvelope(StrictSchema):
    article = fields.Nested(ArticleFields, required=True)


BEFORE_DOC = (
    "Keyset paging: the `nextCursor` of the previous page; the page starts after its last "
    "article, at a cost that does not grow with the depth (unlike `offset`, which counts "
    "from the cursor when both are given). With `q`: the matches older than the cursor."
)


class FeedQuery(StrictSchema):
    limit = StrictInteger(load_default=20, validate=validate.Range(min=1, max=MAX_PAGE))
    offset = StrictInteger(load_default=0, validate=validate.Range(min=0, max=1_000_000))
    before = Cursor(metadata={"description": BEFORE_DOC, "pattern": CURSOR_PATTERN})


class ArticlesQuery(FeedQuery):
    tag = fields.String(validate=validate.Length(min=1, max=40))
    author = fields.String(validate=validate.Length(min=1, max=64))
    favorited = fields.String(validate=validate.Length(min=1, max=64))
    q = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={
            "description": "Full-text search: the 500 newest matches, most relevant first "
            "(articlesCount counts those)"
        },
    )


class NewCommentIn(StrictSchema):
    body = fields.String(required=True, validate=validate.Length(min=1, max=10_000))


class NewCommentEnvelope(StrictSchema):
    comment = fields.Nested(NewCommentIn, required=True)


class IngredientOut(Schema):
    name = fields.String(required=True)
    quantity = fields.String(required=True)


class ArticleOut(Schema):
    slug = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    body = fields.String()
    tagList = fields.List(fields.String(), required=True)
    createdAt = fields.String(required=True)
    updatedAt = fields.String(required=True)
    favorited = fields.Boolean(required=True)
    favoritesCount = fields.Integer(required=True)
    author = fields.Nested(ProfileOut, required=True)
    complexity = fields.String(allow_none=True, required=True)
    cookingMinutes = fields.Integer(allow_none=True, required=True)
    ingredients = fields.List(fields.Nested(IngredientOut), required=True)
    media = fields.List(fields.String(), required=True)


class ArticleEnvelopeOut(Schema):
    article = fields.Nested(ArticleOut, required=True)


class ArticlesOut(Schema):
    articles = fields.List(fields.Nested(ArticleOut), required=True)
    articlesCount = fields.Integer(required=True)
    nextCursor = fields.String(
        metadata={
            "description": "Pass as `before` for the next page; absent on the last page "
            "and for search"
        },
    )


class CommentOut(Schema):
    id = fields.Integer(required=True)
    createdAt = fields.String(required=True)
    updatedAt = fields.String(required=True)
    body = fields.String(required=True)
    author = fields.Nested(ProfileOut, required=True)


class CommentEnvelopeOut(Schema):
    comment = fields.Nested(CommentOut, required=True)


class CommentsOut(Schema):
    comments = fields.List(fields.Nested(CommentOut), required=True)


class TagsOut(Schema):
    tags = fields.List(fields.String(), required=True)


class MediaOut(Schema):
    id = fields.String(required=True)
    url = fields.String(required=True)
    contentType = fields.String(required=True)
    size = fields.Integer(required=True)
    createdAt = fields.String(required=True)


class MediaEnvelopeOut(Schema):
    media = fields.Nested(MediaOut, required=True)


class ModerationReasonQuery(StrictSchema):
    reason = fields.String(
        validate=validate.Length(max=1000),
        metadata={"description": "why a moderator removes it (kept in the audit log)"},
    )
