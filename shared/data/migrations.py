"""Applies a service's plain `.sql` migrations, in order, inside the service's own schema."""

from __future__ import annotations

import hashlib
import logging
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import asyncpg

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{3,})_[a-z0-9_]+\.sql$")
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]*$")


class MigrationError(RuntimeError):
    """The migrations on disk disagree with those recorded in the database."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str
    # Checksums of earlier texts of this file that databases may have applied: it was edited
    # after it had been applied once (a mistake the policy now forbids), and a later
    # migration brings those databases to the shape of the current text.
    superseded: frozenset[str] = frozenset()

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(directory: Path) -> list[Migration]:
    migrations = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.fullmatch(path.name)
        if match is None:
            raise MigrationError(f"migration file name {path.name!r} is not NNN_name.sql")
        superseded = _superseded(path.with_name(f"{path.name}.superseded"))
        migrations.append(Migration(int(match.group(1)), path.name, path.read_text(), superseded))
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migrations in {directory} share a version number")
    return migrations


def _superseded(path: Path) -> frozenset[str]:
    """The SHA-256 checksums listed in `path` (one a line; `#` starts a comment), if it exists."""
    if not path.exists():
        return frozenset()
    lines = (line.partition("#")[0].strip() for line in path.read_text().splitlines())
    checksums = frozenset(line for line in lines if line)
    for checksum in checksums:
        if not re.fullmatch(r"[0-9a-f]{64}", checksum):
            raise MigrationError(f"{path.name}: {checksum!r} is not a SHA-256 checksum")
    return checksums


def _lock_key(schema: str) -> int:
    # A stable 32-bit key per schema: services migrating at once do not wait for one another.
    return zlib.crc32(f"migrations:{schema}".encode())


@dataclass(frozen=True)
class MigrationState:
    """What a schema's record says of a folder of migrations."""

    pending: list[Migration]
    # One line per applied migration whose file differs from what was applied, naming it.
    changed: list[str]


async def inspect_migrations(
    connection: asyncpg.Connection,
    schema: str,
    directory: Path,
    *,
    table: str = "schema_migrations",
) -> MigrationState:
    """Compares the files with the record without changing anything.

    A recorded version without a file is fine: an earlier release (a rollback, the old half of
    a rolling upgrade) runs on a schema that a later one migrated further.
    """
    for identifier in (schema, table):
        if not _SCHEMA.fullmatch(identifier):
            raise MigrationError(f"invalid identifier {identifier!r}")
    migrations = load_migrations(directory)
    recorded: dict[int, tuple[str, str]] = {}
    if await connection.fetchval("SELECT to_regclass($1)", f"{schema}.{table}") is not None:
        rows = await connection.fetch(f"SELECT version, name, checksum FROM {schema}.{table}")
        recorded = {row["version"]: (row["name"], row["checksum"]) for row in rows}
    pending: list[Migration] = []
    changed: list[str] = []
    for migration in migrations:
        if migration.version not in recorded:
            pending.append(migration)
            continue
        name, checksum = recorded[migration.version]
        if checksum != migration.checksum and checksum not in migration.superseded:
            changed.append(
                f"{directory / migration.name} changed after it was applied to schema "
                f"{schema} (as {name})"
            )
    return MigrationState(pending, changed)


def refuse_changed(changed: list[str]) -> None:
    """Raises MigrationError naming every changed migration, if there is any."""
    if changed:
        raise MigrationError(
            "; ".join(changed) + ". A migration never changes once applied: restore the "
            "applied text and add a new migration instead. Nothing was migrated."
        )


async def migrate(
    connection: asyncpg.Connection,
    schema: str,
    directory: Path,
    *,
    table: str = "schema_migrations",
) -> list[str]:
    """Applies what is new and returns the names applied; safe to run from many replicas at once.

    `table` records what was applied; a shared mechanism (the event tables) keeps its own.
    Every applied migration is checked against its file before any pending one runs, so a
    refused upgrade leaves the schema as it was. Each migration runs in its own transaction
    that first takes a transaction-level advisory lock, so concurrent runners apply each file
    exactly once and nothing is left locked.
    """
    for identifier in (schema, table):
        if not _SCHEMA.fullmatch(identifier):
            raise MigrationError(f"invalid identifier {identifier!r}")
    migrations = load_migrations(directory)
    applied: list[str] = []
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1)", _lock_key(schema))
        refuse_changed(
            (await inspect_migrations(connection, schema, directory, table=table)).changed
        )
        # Only when it is missing: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege on
        # the database even when the schema exists, and a deployment's role owns its schema
        # without holding that privilege.
        if not await connection.fetchval(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema
        ):
            await connection.execute(f"CREATE SCHEMA {schema}")
        await connection.execute(
            f"""CREATE TABLE IF NOT EXISTS {schema}.{table} (
                version integer PRIMARY KEY,
                name text NOT NULL,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )"""
        )
    for migration in migrations:
        async with connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock($1)", _lock_key(schema))
            recorded = await connection.fetchval(
                f"SELECT checksum FROM {schema}.{table} WHERE version = $1",
                migration.version,
            )
            if recorded is not None:
                if recorded != migration.checksum and recorded not in migration.superseded:
                    raise MigrationError(
                        f"{schema}/{migration.name} changed after it was applied; "
                        "add a new migration instead"
                    )
                continue
            await connection.execute(f"SET LOCAL search_path TO {schema}, public")
            await connection.execute(migration.sql)
            await connection.execute(
                f"INSERT INTO {schema}.{table} (version, name, checksum) VALUES ($1, $2, $3)",
                migration.version,
                migration.name,
                migration.checksum,
            )
            applied.append(migration.name)
            log.info("migration applied", extra={"schema": schema, "migration": migration.name})
    return applied
