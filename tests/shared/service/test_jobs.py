"""Background jobs: every replica runs them, the database hands each row to one of them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiohttp import web

from shared.service.jobs import JOBS, Job, jobs_ctx
from tests.infra import Infra
from tests.waiting import until


@pytest.fixture
async def pool(infra: Infra) -> AsyncIterator[asyncpg.Pool]:
    created = await asyncpg.create_pool(infra.database_url, min_size=1, max_size=4)
    async with created.acquire() as connection:
        await connection.execute(
            """DROP TABLE IF EXISTS public.test_jobs;
               CREATE TABLE public.test_jobs (id int PRIMARY KEY, done_by text)"""
        )
        await connection.execute("INSERT INTO public.test_jobs (id) SELECT generate_series(1, 300)")
    try:
        yield created
    finally:
        async with created.acquire() as connection:
            await connection.execute("DROP TABLE public.test_jobs")
        await created.close()


def claiming_job(pool: asyncpg.Pool, runner: str, handled: list[tuple[str, int]]) -> Job:
    async def run_batch() -> int:
        async with pool.acquire() as connection, connection.transaction():
            rows = await connection.fetch(
                """SELECT id FROM public.test_jobs WHERE done_by IS NULL
                   ORDER BY id LIMIT 10 FOR UPDATE SKIP LOCKED"""
            )
            await asyncio.sleep(0.005)  # the work, while the rows stay locked
            await connection.execute(
                "UPDATE public.test_jobs SET done_by = $1 WHERE id = ANY($2::int[])",
                runner,
                [row["id"] for row in rows],
            )
        handled.extend((runner, row["id"]) for row in rows)
        return len(rows)

    return Job(f"claim:{runner}", run_batch, interval=60, batch_size=10)


async def test_two_replicas_running_one_job_handle_each_row_once(pool: asyncpg.Pool) -> None:
    handled: list[tuple[str, int]] = []
    runners = [asyncio.create_task(claiming_job(pool, r, handled).loop()) for r in "ab"]
    try:
        await until(lambda: len(handled) >= 300, timeout=10)
    finally:
        for runner in runners:
            runner.cancel()
        await asyncio.gather(*runners, return_exceptions=True)
    ids = sorted(row_id for _, row_id in handled)
    assert ids == list(range(1, 301))
    assert {runner for runner, _ in handled} == {"a", "b"}  # both took part


async def test_a_woken_job_runs_before_its_interval() -> None:
    runs = 0

    async def count() -> int:
        nonlocal runs
        runs += 1
        return 0

    job = Job("count", count, interval=3600, batch_size=10)
    task = asyncio.create_task(job.loop())
    try:
        await until(lambda: runs >= 1)
        job.wake()
        await until(lambda: runs >= 2, timeout=2)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert runs == 2


async def test_a_job_that_fails_is_restarted_by_its_supervisor() -> None:
    calls = 0

    async def flaky() -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("the database went away")
        return 0

    app = web.Application()
    ctx = jobs_ctx(lambda app: [Job("flaky", flaky, interval=0.05, batch_size=10)])
    running = ctx(app)
    await running.__anext__()
    try:
        assert "flaky" in app[JOBS]
        await until(lambda: calls >= 3)
    finally:
        with pytest.raises(StopAsyncIteration):
            await running.__anext__()
    assert calls >= 3
