"""Schema pieces every service uses: strict input, pagination, ids, the public profile."""

from __future__ import annotations

import re
from typing import Any, cast

from marshmallow import RAISE, Schema, ValidationError, fields, validate

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


# ASCII digits only, nothing around them: Python's int() also takes other scripts' digits
# ("١٢"), spaces, "+", "_" and a final newline, none of which a client means as a number.
_DECIMAL = re.compile(r"-?[0-9]{1,20}")


def decimal(raw: str) -> int | None:
    """The integer an ASCII decimal string writes (an optional "-", at most 20 digits), or
    None for anything else."""
    if _DECIMAL.fullmatch(raw) is None:
        return None
    return int(raw)


def path_id(raw: str) -> int | None:
    """A numeric id from a path segment, or None when the segment cannot name a row."""
    value = decimal(raw)
    if value is not None and 0 < value <= MAX_BIGINT:
        return value
    return None


class FullMatch(validate.Regexp):
    """A Regexp that must match the whole text. marshmallow's matches at the start only
    (re.match), and Python's closing `$` also matches before a final newline, so "alice\n"
    passed `^[a-z]+$`; JSON Schema's `pattern` (ECMA-262) means the end of the text, and the
    document keeps the pattern as it is written."""

    def __call__(self, value: str) -> str:  # type: ignore[override]
        if cast("re.Pattern[str]", self.regex).fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


class StrictInteger(fields.Integer):
    """An integer, never coerced from anything else: no boolean, no float, no other script's
    digits, no spaces, no "+", no "_".

    By default it also takes a string of ASCII digits, as query strings (text by nature) and
    the RealWorld routes' bodies write one. With `json_only=True` only a JSON integer is one:
    "3" is refused too (422 naming the field), as in chat's bodies and socket frames.
    """

    def __init__(self, *, json_only: bool = False, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)
        self.json_only = json_only

    def _validated(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise self.make_error("invalid", input=value)
        if isinstance(value, str):
            parsed = None if self.json_only else decimal(value)
            if parsed is None:
                raise self.make_error("invalid", input=value)
            value = parsed
        return super()._validated(value)


def check_bigint(value: int) -> None:
    """A validator: within PostgreSQL's bigint."""
    if abs(value) > MAX_BIGINT:
        raise ValidationError("is out of range")


class PageQuery(StrictSchema):
    limit = StrictInteger(load_default=20, validate=validate.Range(min=1, max=MAX_PAGE))
    offset = StrictInteger(load_default=0, validate=validate.Range(min=0, max=1_000_000))


class ProfileOut(Schema):
    """API.md's Profile: social_service answers it, posts_service shows it as an author."""

    username = fields.String(required=True)
    bio = fields.String(allow_none=True, required=True)
    image = fields.String(allow_none=True, required=True)
    following = fields.Boolean(required=True)
    followersCount = fields.Integer(required=True)
    followingCount = fields.Integer(required=True)
