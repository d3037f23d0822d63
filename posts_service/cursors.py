"""Keyset cursors of newest-first article lists: `{microseconds since the epoch}.{id}` of the
last article of a page, whose next page starts strictly after it. Exact to the microsecond,
as PostgreSQL stores `created_at`, so no article is skipped or shown twice."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from marshmallow import ValidationError, fields

from posts_service.queries import Position

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Every string of this shape is a position (17 digits of microseconds reach the year 5138,
# 18 digits stay within a bigint id), so the OpenAPI pattern says exactly what is accepted.
CURSOR_PATTERN = r"^\d{1,17}\.\d{1,18}$"
_CURSOR = re.compile(r"^(\d{1,17})\.(\d{1,18})$")


def cursor_of(created_at: datetime, article_id: int) -> str:
    micros = (created_at - EPOCH) // timedelta(microseconds=1)
    return f"{micros}.{article_id}"


def position_of(cursor: str) -> Position | None:
    """The position a cursor names, or None when it is not one of ours."""
    match = _CURSOR.match(cursor)
    if match is None:
        return None
    micros, article_id = int(match.group(1)), int(match.group(2))
    return EPOCH + timedelta(microseconds=micros), article_id


class Cursor(fields.String):
    """A query parameter holding a cursor, loaded as its position."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Position:
        position = position_of(super()._deserialize(value, attr, data, **kwargs))
        if position is None:
            raise ValidationError("must be a nextCursor of an earlier page")
        return position
