"""Recording events in the same transaction as the change, and relaying them to Redis.

A crash or a Redis outage delays events, never loses them: a batch of rows is claimed and
marked published in one statement (`FOR UPDATE SKIP LOCKED`, so replicas share the work
without publishing a row twice), inside a transaction that commits only once Redis has
accepted the whole batch; a relay that dies or fails before that leaves the rows pending.
Events go out in the order of their rows, as before. A Redis that restarts empty loses what
its streams held and no consumer had read yet: each relay keeps a marker key in Redis and,
when it finds it gone, publishes again the rows of the last `replay_seconds` (consumers handle
an event once, so those they had already read change nothing). Wakes that come close together are
coalesced for `coalesce_seconds` (10 ms), so that concurrent writes share a batch: a batch
costs three statements and one Redis round trip whatever its size, and no request waits for
it (consumers are asynchronous by design). The XADDs go over the service's pipelined Redis
connection when it has one.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from itertools import chain
from pathlib import Path
from typing import Any

import asyncpg
import redis.asyncio as aioredis
from aiohttp import web

from shared.data.migrations import MigrationState, inspect_migrations, migrate
from shared.data.redis import send_commands
from shared.events.envelope import MIGRATIONS_TABLE, Event, stream_name
from shared.keys import PG_POOL, PIPELINED_REDIS, REDIS
from shared.tasks import pause, reraise_cancellation, stop_task, supervise, wait_set
from shared.transport.redis_pipeline import PipelinedRedis
from shared.web.middleware import METRICS, Metrics

log = logging.getLogger(__name__)

EVENTS_MIGRATIONS = Path(__file__).parent / "migrations"


async def install_event_tables(connection: asyncpg.Connection, schema: str) -> None:
    await migrate(connection, schema, EVENTS_MIGRATIONS, table=MIGRATIONS_TABLE)


async def inspect_event_tables(connection: asyncpg.Connection, schema: str) -> MigrationState:
    return await inspect_migrations(connection, schema, EVENTS_MIGRATIONS, table=MIGRATIONS_TABLE)


async def record_event(
    connection: asyncpg.Connection, event_type: str, data: dict[str, Any], *, version: int = 1
) -> str:
    """Adds an event to the outbox; call it inside the transaction of the change it describes."""
    event_id = str(uuid.uuid4())
    await connection.execute(
        "INSERT INTO outbox (event_id, type, data, version) VALUES ($1, $2, $3, $4)",
        event_id,
        event_type,
        data,
        version,
    )
    return event_id


class OutboxRelay:
    def __init__(
        self,
        pool: asyncpg.Pool,
        redis: aioredis.Redis,
        producer: str,
        metrics: Metrics | None = None,
        *,
        batch_size: int = 100,
        poll_interval: float = 0.5,
        coalesce_seconds: float = 0.010,
        stream_max_length: int = 100_000,
        retention_seconds: float = 24 * 3600,
        replay_seconds: float = 60.0,
        pipelined: PipelinedRedis | None = None,
    ) -> None:
        self.pool = pool
        self.redis = redis
        self.producer = producer
        self.stream = stream_name(producer)
        self.metrics = metrics
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.coalesce_seconds = coalesce_seconds
        self.stream_max_length = stream_max_length
        self.retention_seconds = retention_seconds
        self.replay_seconds = replay_seconds
        self.pipelined = pipelined
        self.marker = f"{self.stream}:relay-marker"
        self._marked = False  # a marker was seen or set since this relay started
        self._marker_checked = float("-inf")
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Publish now rather than at the next poll; call after committing an event."""
        self._wake.set()

    async def publish_pending(self) -> int:
        """Publishes one batch of pending rows; returns how many went out."""
        async with self.pool.acquire() as connection, connection.transaction():
            rows = await connection.fetch(
                """UPDATE outbox SET published_at = now() WHERE id IN (
                       SELECT id FROM outbox WHERE published_at IS NULL
                       ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
                   RETURNING id, event_id, type, data, version, occurred_at""",
                self.batch_size,
            )
            if not rows:
                return 0
            events = [
                Event(
                    id=str(row["event_id"]),
                    type=row["type"],
                    occurred_at=row["occurred_at"].isoformat(),
                    producer=self.producer,
                    version=row["version"],
                    data=row["data"],
                )
                for row in sorted(rows, key=lambda row: int(row["id"]))  # RETURNING has no order
            ]
            trim = ("MAXLEN", "~", str(self.stream_max_length))
            await send_commands(
                self.redis,
                self.pipelined,
                [
                    ("XADD", self.stream, *trim, "*", *chain(*event.to_fields().items()))
                    for event in events
                ],
            )
        if self.metrics is not None:
            self.metrics.events_published.labels(self.producer).inc(len(rows))
        return len(rows)

    async def check_marker(self) -> int:
        """Republishes the last `replay_seconds` of events when Redis lost its data since the
        last check (the marker set then is gone); returns how many rows were queued again.
        At start only the marker is set: what a restart lost while this relay was away, the
        relays that were running saw."""
        if await self.redis.get(self.marker) is not None:
            self._marked = True
            return 0
        lost = self._marked
        await self.redis.set(self.marker, "1", nx=True)
        self._marked = True
        if not lost:
            return 0
        result: str = await self.pool.execute(
            """UPDATE outbox SET published_at = NULL
               WHERE published_at > now() - make_interval(secs => $1)""",
            self.replay_seconds,
        )
        queued = int(result.split()[-1])
        log.warning(
            "Redis lost its streams: recent events published again",
            extra={"producer": self.producer, "events": queued},
        )
        return queued

    async def any_pending(self) -> bool:
        """Whether a row waits: the poll's question, one statement where a claim costs three."""
        pending: bool = await self.pool.fetchval(
            "SELECT EXISTS (SELECT FROM outbox WHERE published_at IS NULL)"
        )
        return pending

    async def prune(self) -> int:
        result: str = await self.pool.execute(
            "DELETE FROM outbox WHERE published_at < now() - make_interval(secs => $1)",
            self.retention_seconds,
        )
        return int(result.split()[-1])

    async def run(self) -> None:
        """Publishes until cancelled; a Redis or database failure is retried with back-off."""
        backoff = self.poll_interval
        last_prune = 0.0
        loop = asyncio.get_running_loop()
        woken = True  # at start, whatever waits from before
        while True:
            # Cleared before publishing: a wake that comes meanwhile is for rows this round
            # may have missed, and makes the next wait return at once.
            self._wake.clear()
            try:
                # At most once a poll interval: one GET, whatever the load.
                if loop.time() - self._marker_checked >= self.poll_interval:
                    self._marker_checked = loop.time()
                    if await self.check_marker():
                        woken = True
                if woken or await self.any_pending():
                    while await self.publish_pending() == self.batch_size:
                        pass
                if loop.time() - last_prune > 60:
                    await self.prune()
                    last_prune = loop.time()
                backoff = self.poll_interval
            except (OSError, aioredis.RedisError, asyncpg.PostgresError) as exc:
                reraise_cancellation()
                log.warning("outbox relay waits", extra={"error": repr(exc), "retry_in": backoff})
                await pause(backoff)
                backoff = min(backoff * 2, 5.0)
                woken = True
                continue
            woken = await wait_set(self._wake, self.poll_interval)
            if woken and self.coalesce_seconds > 0:
                await asyncio.sleep(self.coalesce_seconds)


RELAY: web.AppKey[OutboxRelay] = web.AppKey("outbox_relay", OutboxRelay)


def relay_ctx(producer: str, **options: Any) -> Callable[[web.Application], AsyncIterator[None]]:
    """Creates the event tables, then runs the relay for the app's lifetime."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        relay = OutboxRelay(
            app[PG_POOL],
            app[REDIS],
            producer,
            app[METRICS],
            pipelined=app.get(PIPELINED_REDIS),
            **options,
        )
        app[RELAY] = relay
        task = asyncio.create_task(
            supervise(f"relay:{producer}", relay.run), name=f"relay:{producer}"
        )
        try:
            yield
        finally:
            await stop_task(task)

    return ctx
