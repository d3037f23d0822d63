"""Keyset cursors of newest-first article lists: `{microseconds since the epoch}.{id}` of the
last article of a page, whose next page starts strictly after it. Exact to the microsecond,
as PostgreSQL stores `created_at`, so no article is skipped or shown twice."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from marshmallow import ValidationError, fields

from posts_service.queries import Position
from shared.web.schemas import MAX_BIGINT

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# A position is 17 digits of microseconds at most (they reach the year 5138) and a bigint
# id (19 digits at most, and no more than the largest bigint, which a pattern cannot say).
CURSOR_PATTERN = r"^[0-9]{1,17}\.[0-9]{1,19}$"
# ASCII digits only (Python's \d takes every script's), and nothing after them (not even the
# newline that `$` lets through).
_CURSOR = re.compile(r"([0-9]{1,17})\.([0-9]{1,19})")


def cursor_of(created_at: datetime, article_id: int) -> str:
    micros = (created_at - EPOCH) // timedelta(microseconds=1)
    return f"{micros}.{article_id}"


def position_of(cursor: str) -> Position | None:
    """The position a cursor names, or None when it is not one of ours."""
    match = _CURSOR.fullmatch(cursor)
    if match is None:
        return None
    micros, article_id = int(match.group(1)), int(match.group(2))
    if article_id > MAX_BIGINT:
        return None
    return EPOCH + timedelta(microseconds=micros), article_id


class Cursor(fields.String):
    """A query parameter holding a cursor, loaded as its position."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Position:
        position = position_of(super()._deserialize(value, attr, data, **kwargs))
        if position is None:
            raise ValidationError("must be a nextCursor of an earlier page")
        return position
