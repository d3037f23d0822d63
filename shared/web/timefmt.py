"""Times as API.md writes them: ISO 8601 in UTC with milliseconds and `Z`."""

from datetime import UTC, datetime


def iso(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    # Not strftime: its %Y writes the year 999 as "999", and ISO 8601 wants four digits.
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:"
        f"{moment.minute:02d}:{moment.second:02d}.{moment.microsecond // 1000:03d}Z"
    )
