"""What the schemas of every subject share: the limits of what a client may send, text that
must say something, strict booleans and query integers, and the person of an answer."""

from __future__ import annotations

import re
from typing import Any, cast

from marshmallow import Schema, ValidationError, fields, validate

from shared.web.schemas import StrictInteger

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


def text_field(maximum: int, **options: Any) -> fields.String:
    """A text that must say something."""
    return fields.String(
        validate=[validate.Length(min=1, max=maximum), NOT_BLANK],
        metadata={"description": f"at most {maximum} characters; {BLANK_DOC}"},
        **options,
    )


def query_integer(minimum: int, maximum: int, **options: Any) -> StrictInteger:
    """An integer of the query string: ASCII digits only (text by nature, not JSON)."""
    return StrictInteger(validate=validate.Range(min=minimum, max=maximum), **options)


class PersonOut(Schema):
    username = fields.String(required=True, allow_none=True)
    image = fields.String(required=True, allow_none=True)
