"""The servers a test or benchmark run talks to: embedded ones, or those the environment names."""

from __future__ import annotations

import asyncio
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from devstack.embedded import (
    EmbeddedPostgres,
    free_port,
    start_mailcatcher,
    start_postgres,
    start_valkey,
    valkey_pid,
    watch_parent,
)
from devstack.migrate import SCHEMAS, migrate_all
from devstack.stack import wait_ready
from shared.settings import Env, InternalKeys

TEST_DATABASE = "chopchop_test"
# The database of a stack of service processes that outlives single tests (see Infra.stack).
STACK_DATABASE = "chopchop_test_stack"


@dataclass
class Infra:
    database_url: str
    redis_url: str
    smtp_host: str
    smtp_port: int
    mail_api: str
    tables: list[str] = field(default_factory=list)
    _owned: list[Any] = field(default_factory=list)

    @property
    def stack_database_url(self) -> str:
        return _with_database(self.database_url, STACK_DATABASE)

    @property
    def stack_redis_url(self) -> str:
        db = int(urlsplit(self.redis_url).path.strip("/") or 0)
        return _with_redis_db(self.redis_url, db - 1 if db > 0 else 1)

    def stack_env(self, **extra: str) -> dict[str, str]:
        """The environment of a stack of service processes that outlives single tests: a
        database and a Redis database of its own, so that its relays and consumers never
        take the events of the services a single test starts (nor those its own)."""
        return self.env(
            DATABASE_URL=self.stack_database_url, REDIS_URL=self.stack_redis_url, **extra
        )

    def env(self, **extra: str) -> dict[str, str]:
        """The environment a service gets in a test."""
        return {
            "ENVIRONMENT": "test",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "SMTP_HOST": self.smtp_host,
            "SMTP_PORT": str(self.smtp_port),
            "DB_POOL_MIN": "1",
            "DB_POOL_MAX": "5",
            "LOG_LEVEL": "warning",
            # One key for every process of the run, and for this one, which plays the
            # gateway in tests that call a service directly (tests/vouching.py).
            "INTERNAL_AUTH_KEY": run_internal_key().signing.decode(),
            **extra,
        }


def run_internal_key() -> InternalKeys:
    """The key shared inside a test or benchmark run: the process's own (generated once), or
    the one its environment names."""
    return InternalKeys.from_env(Env(), "test")


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def _with_redis_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{db}"))


async def _prepare_database(admin_url: str, *databases: str) -> list[str]:
    """Creates the databases afresh with every migration applied; returns their tables."""
    admin = await asyncpg.connect(admin_url)
    try:
        for database in databases:
            await admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
            await admin.execute(f"CREATE DATABASE {database}")
    finally:
        await admin.close()
    for database in databases:
        await migrate_all(_with_database(admin_url, database))
    connection = await asyncpg.connect(_with_database(admin_url, databases[0]))
    try:
        rows = await connection.fetch(
            """SELECT schemaname || '.' || tablename AS name FROM pg_tables
               WHERE schemaname = ANY($1::text[]) AND tablename NOT LIKE '%migrations'""",
            list(SCHEMAS),
        )
    finally:
        await connection.close()
    return [row["name"] for row in rows]


def start_infra(work_dir: Path) -> Infra:
    owned: list[Any] = []
    admin_url = os.environ.get("DATABASE_URL", "")
    if not admin_url:
        server, admin_url = start_postgres(work_dir / "postgres")
        owned.append(server)
    redis_url = os.environ.get("REDIS_URL", "")
    if redis_url:
        # A shared server: keep to a database of our own.
        redis_url = _with_redis_db(redis_url, int(os.environ.get("TEST_REDIS_DB", "15")))
    else:
        valkey, redis_url = start_valkey(work_dir / "valkey", persist=False)
        owned.append(valkey)
    smtp_host = os.environ.get("SMTP_HOST", "")
    smtp_port = int(os.environ.get("SMTP_PORT", "1025"))
    mail_api = os.environ.get("MAIL_API_URL", "")
    if not smtp_host:
        smtp_host, smtp_port, http_port = "127.0.0.1", free_port(), free_port()
        mail_api = f"http://127.0.0.1:{http_port}"
        catcher = start_mailcatcher(smtp_port, http_port)
        owned.append(catcher)
        wait_ready(f"{mail_api}/api/v1/messages", 20, catcher)
    # A killed test run must not leave its servers running: a watchdog stops them.
    pids = [
        thing.pid if isinstance(thing, (EmbeddedPostgres, subprocess.Popen)) else valkey_pid(thing)
        for thing in owned
        if not (isinstance(thing, EmbeddedPostgres) and thing.reused)
    ]
    if pids:
        owned.append(watch_parent(*pids))
    test_url = _with_database(admin_url, TEST_DATABASE)
    tables = asyncio.run(_prepare_database(admin_url, TEST_DATABASE, STACK_DATABASE))
    return Infra(test_url, redis_url, smtp_host, smtp_port, mail_api, tables, owned)


def stop_infra(infra: Infra) -> None:
    for thing in reversed(infra._owned):
        if isinstance(thing, subprocess.Popen):
            thing.terminate()
            thing.wait(10)
        else:
            thing.stop()
