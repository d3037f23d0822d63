"""Schema pieces every service uses: strict input, pagination, ids, the public profile."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, fields, validate

MAX_PAGE = 100
# The largest value of PostgreSQL's bigint, the type of every id.
MAX_BIGINT = 2**63 - 1
# The OpenAPI security requirement of routes that need a token.
TOKEN_AUTH: list[dict[str, list[str]]] = [{"Token": []}]
# The body of an upload route, as OpenAPI describes it: one multipart part named `file`.
FILE_UPLOAD: dict[str, Any] = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary"}},
                "additionalProperties": False,
            }
        }
    },
}


class StrictSchema(Schema):
    """Input schemas refuse unknown fields, so a typo is a 422 rather than silently ignored."""

    class Meta:
        unknown = RAISE


def path_id(raw: str) -> int | None:
    """A numeric id from a path segment, or None when the segment cannot name a row."""
    if raw.isascii() and raw.isdigit() and 0 < int(raw) <= MAX_BIGINT:
        return int(raw)
    return None


class PageQuery(StrictSchema):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PAGE))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=1_000_000))


class ProfileOut(Schema):
    """API.md's Profile: social_service answers it, posts_service shows it as an author."""

    username = fields.String(required=True)
    bio = fields.String(allow_none=True, required=True)
    image = fields.String(allow_none=True, required=True)
    following = fields.Boolean(required=True)
    followersCount = fields.Integer(required=True)
    followingCount = fields.Integer(required=True)
