"""Applies every service's migrations: `python -m devstack.migrate` (DATABASE_URL from the env).

Every service's applied migrations are checked against their files before any service
migrates, so a refused upgrade leaves the whole database as it was (each service also checks
its own when it starts). `--check` only checks, and changes nothing: the deployments run it
before the services start (see the README's "Upgrading").
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
from pathlib import Path

import asyncpg

from shared.data.migrations import MigrationError, inspect_migrations, migrate, refuse_changed
from shared.events.outbox import inspect_event_tables, install_event_tables
from shared.service.app import inspect_idempotency_table, install_idempotency_table

ROOT = Path(__file__).resolve().parent.parent

# schema -> (package, whether it has the event tables)
SCHEMAS: dict[str, tuple[str, bool]] = {
    "auth": ("auth_service", True),
    "social": ("social_service", True),
    "posts": ("posts_service", True),
    "chat": ("chat_service", False),
}
# The schemas with the shared table of Idempotency-Key outcomes.
IDEMPOTENCY = ("posts", "chat")


async def check_all(connection: asyncpg.Connection) -> dict[str, list[str]]:
    """The pending migrations of every schema; raises MigrationError naming every applied
    migration, of any service, whose file changed."""
    pending: dict[str, list[str]] = {}
    changed: list[str] = []
    for schema, (package, events) in SCHEMAS.items():
        state = await inspect_migrations(connection, schema, ROOT / package / "migrations")
        pending[schema] = [migration.name for migration in state.pending]
        changed += state.changed
        if events:
            state = await inspect_event_tables(connection, schema)
            pending[schema] += [f"events/{migration.name}" for migration in state.pending]
            changed += state.changed
        if schema in IDEMPOTENCY:
            state = await inspect_idempotency_table(connection, schema)
            pending[schema] += [f"idempotency/{migration.name}" for migration in state.pending]
            changed += state.changed
    refuse_changed(changed)
    return pending


async def migrate_all(database_url: str) -> dict[str, list[str]]:
    applied: dict[str, list[str]] = {}
    connection = await asyncpg.connect(database_url)
    try:
        await check_all(connection)
        for schema, (package, events) in SCHEMAS.items():
            importlib.import_module(package)
            applied[schema] = await migrate(connection, schema, ROOT / package / "migrations")
            if events:
                await install_event_tables(connection, schema)
            if schema in IDEMPOTENCY:
                await install_idempotency_table(connection, schema)
    finally:
        await connection.close()
    return applied


async def check_database(database_url: str) -> dict[str, list[str]]:
    connection = await asyncpg.connect(database_url)
    try:
        return await check_all(connection)
    finally:
        await connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="only check the applied migrations; change nothing"
    )
    arguments = parser.parse_args()
    database_url = os.environ["DATABASE_URL"]
    try:
        if arguments.check:
            names = asyncio.run(check_database(database_url))
        else:
            names = asyncio.run(migrate_all(database_url))
    except MigrationError as refused:
        print(f"migrations refused: {refused}", file=sys.stderr)
        return 1
    verb = "pending" if arguments.check else "applied"
    for schema, applied in names.items():
        print(f"{schema}: {verb} {', '.join(applied)}" if applied else f"{schema}: up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
