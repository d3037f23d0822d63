"""Fixtures: real PostgreSQL, Redis and SMTP once per run, a clean state for every test."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from pytest_aiohttp import AiohttpClient

from shared.data.redis import create_redis
from tests.infra import Infra, start_infra, stop_infra
from tests.mail import clear_mailbox
from tests.services import (  # noqa: F401 - fixtures shared by the service tests
    auth_client,
    posts,
    social,
    users,
)
from tests.stack import api, running_stack  # noqa: F401 - one stack for the whole run
from tests.typing import AppClient
from tests.vouching import VOUCHED


@pytest.fixture
def aiohttp_client(aiohttp_client: AiohttpClient) -> AiohttpClient:
    """pytest-aiohttp's client, signing what it sends as the gateway does (tests/vouching.py):
    the tests that call a service directly play the gateway."""

    async def client(app: web.Application, **kwargs: Any) -> AppClient:
        kwargs.setdefault("middlewares", VOUCHED)
        return await aiohttp_client(app, **kwargs)

    return client  # type: ignore[return-value]


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infra]:
    started = start_infra(Path(tmp_path_factory.mktemp("infra")))
    try:
        yield started
    finally:
        stop_infra(started)


# The stack's chat replicas outlive a test and remember the ids of the live events they
# delivered, for two minutes (chat_service/live/log.py): numbered from 1 again, the next
# test's membership, edit and comment events would be taken for ones already delivered and
# dropped. Their numbering goes on across tests; so does the messages': a mention of the last
# test handled late would otherwise name a message of this one (same id, same chat id, a
# member of the same name) and notify its member of it. So does the notifications': one the
# last test's event stored after the tables were emptied keeps its id, which a restarted
# numbering would give again (a unique violation the consumer retries).
STACK_KEPT_SEQUENCES = (
    "chat.live_events_id_seq",
    "auth.users_id_seq",
    "chat.messages_id_seq",
    "chat.notifications_id_seq",
)


@pytest.fixture(autouse=True)
async def clean_state(infra: Infra) -> AsyncIterator[None]:
    """Every test starts from empty tables and Redis databases (its own and those of the
    session's stack) and an empty mailbox."""
    for url, kept in ((infra.database_url, ()), (infra.stack_database_url, STACK_KEPT_SEQUENCES)):
        connection = await asyncpg.connect(url)
        try:
            await _empty(connection, infra.tables, kept)
        finally:
            await connection.close()
    for url in (infra.redis_url, infra.stack_redis_url):
        client = aioredis.from_url(url)
        try:
            await client.flushdb()
        finally:
            await client.aclose()
    await clear_mailbox(infra.mail_api)
    yield


async def _empty(connection: asyncpg.Connection, tables: list[str], kept: tuple[str, ...]) -> None:
    """Empties every table that holds a row and restarts every sequence of theirs that moved
    (but the `kept` ones): as TRUNCATE ... RESTART IDENTITY of every table would, in a fraction
    of its time, since most tests leave most tables empty and a TRUNCATE costs each table new
    files."""
    holding = await connection.fetchval(_holding_rows_query(tuple(tables)))
    moved = await connection.fetch(
        """SELECT d.objid::regclass::text AS name
           FROM pg_depend d
           JOIN pg_sequences s ON d.objid = format('%I.%I', s.schemaname, s.sequencename)::regclass
           WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
             AND d.refobjid = ANY($1::regclass[]) AND d.deptype IN ('a', 'i')
             AND s.last_value IS NOT NULL""",
        tables,
    )
    restart = [row["name"] for row in moved if row["name"] not in kept]
    if holding:
        await _truncate(connection, holding)
    if restart:
        await connection.execute(
            "SELECT setval(name::regclass, 1, false) FROM unnest($1::text[]) AS name", restart
        )


@functools.cache
def _holding_rows_query(tables: tuple[str, ...]) -> str:
    cases = ", ".join(f"CASE WHEN EXISTS (SELECT FROM {t}) THEN '{t}' END" for t in tables)
    return f"SELECT array_remove(ARRAY[{cases}], NULL)"


async def _truncate(connection: asyncpg.Connection, tables: list[str]) -> None:
    """Empties the tables. The stack's services keep working meanwhile (relays, consumers): a
    transaction of theirs that locks two tables in the other order may deadlock with the
    TRUNCATE, and when PostgreSQL picks the TRUNCATE to fail, it is run again."""
    statement = f"TRUNCATE {', '.join(tables)} CASCADE"
    for attempt in range(1, 6):
        try:
            await connection.execute(statement)
            return
        except asyncpg.DeadlockDetectedError:
            if attempt == 5:
                raise


@pytest.fixture
async def db(infra: Infra) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(infra.database_url)
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture
async def redis(infra: Infra) -> AsyncIterator[aioredis.Redis]:
    # The services' own settings (timeouts included): a read that never returns must fail
    # here as it would in a service, not hang the test.
    client = create_redis(infra.redis_url)
    try:
        yield client
    finally:
        await client.aclose()
