"""Applies every service's migrations: `python -m devstack.migrate` (DATABASE_URL from the env)."""

from __future__ import annotations

import asyncio
import importlib
import os
from pathlib import Path

import asyncpg

from shared.data.migrations import migrate
from shared.events.outbox import install_event_tables

ROOT = Path(__file__).resolve().parent.parent

# schema -> (package, whether it has the event tables)
SCHEMAS: dict[str, tuple[str, bool]] = {
    "auth": ("auth_service", True),
    "social": ("social_service", True),
    "posts": ("posts_service", True),
    "chat": ("chat_service", False),
}


async def migrate_all(database_url: str) -> dict[str, list[str]]:
    applied: dict[str, list[str]] = {}
    connection = await asyncpg.connect(database_url)
    try:
        for schema, (package, events) in SCHEMAS.items():
            importlib.import_module(package)
            applied[schema] = await migrate(connection, schema, ROOT / package / "migrations")
            if events:
                await install_event_tables(connection, schema)
    finally:
        await connection.close()
    return applied


def main() -> None:
    applied = asyncio.run(migrate_all(os.environ["DATABASE_URL"]))
    for schema, names in applied.items():
        print(f"{schema}: {', '.join(names) if names else 'up to date'}")


if __name__ == "__main__":
    main()
