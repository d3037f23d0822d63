"""A background job that loses its database (PostgreSQL shutting down beside the service, as
Ctrl-C on `make run` stops both) logs a warning, not an error with a traceback, and runs again
once the database is back."""

from __future__ import annotations

import asyncio
import logging

import asyncpg
import pytest
from aiohttp import web

from shared.service.jobs import Job, jobs_ctx
from tests.infra import Infra
from tests.waiting import until


async def test_a_job_cut_off_by_the_database_is_not_an_error(
    infra: Infra, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    started: list[int] = []

    async def run_batch() -> int:
        connection = await asyncpg.connect(infra.database_url)
        try:
            started.append(await connection.fetchval("SELECT pg_backend_pid()"))
            await connection.execute("SELECT pg_sleep(30)")  # cut off by the server
        finally:
            await connection.close()
        return 0

    ctx = jobs_ctx(lambda app: [Job("sleeper", run_batch, interval=0.05, batch_size=10)])
    app = web.Application()
    running = ctx(app)
    await anext(running)
    admin = await asyncpg.connect(infra.database_url)
    try:
        await until(lambda: len(started) == 1, timeout=10)
        await asyncio.sleep(0.2)  # in its query
        # What a fast shutdown does to every session: "terminating connection due to
        # administrator command".
        await admin.fetchval("SELECT pg_terminate_backend($1)", started[0])
        await until(lambda: len(started) == 2, timeout=10)
        await admin.fetchval("SELECT pg_terminate_backend($1)", started[1])
    finally:
        await admin.close()
        await anext(running, None)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [(r.name, r.getMessage()) for r in errors]
    warned = [
        r for r in caplog.records if r.getMessage() == "job paused: the database is unavailable"
    ]
    assert len(warned) >= 1
