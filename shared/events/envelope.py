"""The event envelope as it travels on a stream."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MIGRATIONS_TABLE = "events_migrations"


def stream_name(producer: str) -> str:
    return f"events:{producer}"


def dead_letter_stream(stream: str) -> str:
    return f"dead:{stream}"


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    occurred_at: str
    producer: str
    version: int
    data: dict[str, Any]

    def to_fields(self) -> dict[str, str]:
        return {
            "id": self.id,
            "type": self.type,
            "occurred_at": self.occurred_at,
            "producer": self.producer,
            "version": str(self.version),
            "data": json.dumps(self.data),
        }

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> Event:
        """Parses a stream entry; raises ValueError (or KeyError) when it is malformed."""
        data = json.loads(fields["data"])
        if not isinstance(data, dict):
            raise ValueError("event data is not an object")
        return cls(
            id=fields["id"],
            type=fields["type"],
            occurred_at=fields["occurred_at"],
            producer=fields["producer"],
            version=int(fields.get("version", "1")),
            data=data,
        )
