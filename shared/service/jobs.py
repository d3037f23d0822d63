"""Timed background work that runs in every replica and does each piece of it once.

A job is a function that takes one batch of due work and returns how many items it handled.
It must claim its rows itself with `FOR UPDATE SKIP LOCKED` (or a lease) in the transaction
that does the work: every replica runs every job, and the database hands each row to one of
them. A replica that dies mid-batch rolls back, and its rows are taken by the next run
elsewhere. The runner calls a job again at once while batches come back full, otherwise after
its interval (with jitter, so replicas spread out), or earlier when woken.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from aiohttp import web

from shared.tasks import reraise_cancellation, stop_task, supervise, wait_set
from shared.web.errors import database_unavailable

log = logging.getLogger(__name__)


@dataclass
class Job:
    name: str
    run_batch: Callable[[], Awaitable[int]]
    interval: float
    batch_size: int
    _wake: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    def wake(self) -> None:
        """Run now rather than at the next interval (new work is due soon)."""
        self._wake.set()

    async def loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                # A full batch means more is due: go on at once.
                while await self.run_batch() >= self.batch_size:
                    pass
            except Exception as exc:
                reraise_cancellation()  # a client's word for an interrupted call
                if not database_unavailable(exc):
                    raise  # a defect: logged with its traceback by the supervisor
                # PostgreSQL restarting, or shutting down beside us (Ctrl-C on `make run`
                # stops both): expected, and the next run takes the batch again.
                log.warning(
                    "job paused: the database is unavailable",
                    extra={"job": self.name, "error": type(exc).__name__},
                )
            await wait_set(self._wake, self.interval * random.uniform(0.8, 1.2))


JOBS: web.AppKey[dict[str, Job]] = web.AppKey("jobs", dict)


def jobs_ctx(
    factory: Callable[[web.Application], Sequence[Job]],
) -> Callable[[web.Application], AsyncIterator[None]]:
    """Runs `factory(app)`'s jobs, each supervised (a crash is logged and the job restarted),
    for the app's lifetime; they are reachable by name under `app[JOBS]` to be woken."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        jobs = {job.name: job for job in factory(app)}
        app[JOBS] = jobs
        tasks = [
            asyncio.create_task(supervise(f"job:{name}", job.loop), name=f"job:{name}")
            for name, job in jobs.items()
        ]
        try:
            yield
        finally:
            for task in tasks:
                await stop_task(task)

    return ctx
