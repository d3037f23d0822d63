"""Reading event streams with a consumer group: ack after success, retry, dead-letter, reclaim.

Each consuming service is one group, so its replicas share every stream. A handler runs in a
database transaction together with the record of the event's id, so an event delivered twice
(a crash before the ack, a reclaim) changes nothing the second time.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import redis.asyncio as aioredis
from aiohttp import web

from shared.events.envelope import Event, dead_letter_stream, stream_name
from shared.events.lanes import Entry, Lanes
from shared.keys import PG_POOL, REDIS
from shared.logs import ThrottledWarning
from shared.tasks import pause, reraise_cancellation, stop_task, supervise
from shared.web.middleware import METRICS, Metrics

log = logging.getLogger(__name__)
_redis_failed = ThrottledWarning(log, "event consumer: Redis failed; retried later")

AfterCommit = Callable[[], Awaitable[None]]
# A handler runs inside the transaction that records the event as handled; what must wait for
# the commit (invalidating a cache that a concurrent read could refill with old rows) it
# returns as a callable, which runs once the transaction has committed.
Handler = Callable[[asyncpg.Connection, Event], Awaitable[AfterCommit | None]]


@dataclass(frozen=True)
class MarksHandled:
    """A handler that records the event as handled itself, in the same transaction as its
    change (the consumer's table of handled ids, which it must know): it gets a connection
    outside any transaction, so that one statement can do it all in one round trip where
    the transaction around a `Handler` costs four (BEGIN, the handled id, the change, COMMIT)."""

    run: Handler


# Which events must be handled in their order: those of one lane (the same key) are, one after
# another; different lanes run at once (up to `concurrency`); None is a barrier, handled alone
# once everything before it is done.
Partition = Callable[[Event], str | None]


class EventConsumer:
    def __init__(
        self,
        pool: asyncpg.Pool,
        redis: aioredis.Redis,
        group: str,
        producers: Sequence[str],
        handlers: Mapping[str, Handler | MarksHandled],
        metrics: Metrics | None = None,
        *,
        consumer_name: str | None = None,
        batch_size: int = 50,
        block_ms: int = 1000,
        retry_delay_ms: int = 1000,
        claim_idle_ms: int = 30_000,
        max_attempts: int = 5,
        processed_table: str = "processed_events",
        concurrency: int = 1,
        partition: Partition | None = None,
    ) -> None:
        self.pool = pool
        self.redis = redis
        self.group = group
        self.streams = [stream_name(producer) for producer in producers]
        self.handlers = dict(handlers)
        self.metrics = metrics
        self.name = consumer_name or f"{socket.gethostname()}-{os.getpid()}-{id(self):x}"
        self.batch_size = batch_size
        self.block_ms = block_ms
        self.retry_delay_ms = retry_delay_ms
        self.claim_idle_ms = claim_idle_ms
        self.max_attempts = max_attempts
        # Where handled ids are recorded: a second group of one service in one schema (its
        # own work on the same events) keeps a table of its own.
        self.processed_table = processed_table
        self.concurrency = concurrency if partition is not None else 1
        self.partition = partition
        # By lane, the entries read while earlier ones are handled (at most a batch held).
        self.lanes = Lanes(self._handle_in_lane, self.concurrency, batch_size)
        # What lanes handled, acknowledged in the background, many in one command: a lane
        # goes on to its next entry without waiting for Redis.
        self._unacked: dict[str, list[str]] = defaultdict(list)
        self._ack_due = asyncio.Event()
        self._stopping = False

    def stop(self) -> None:
        """Ends `run` after the current read (at most `block_ms`): redis-py does not always
        survive a cancelled blocking read, so shutdown asks rather than cancels."""
        self._stopping = True

    async def ensure_groups(self) -> None:
        for stream in self.streams:
            try:
                # "0": a new group reads the stream from its start, so nothing published
                # before the first replica came up is missed.
                await self.redis.xgroup_create(stream, self.group, id="0", mkstream=True)
            except aioredis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    async def handle(self, stream: str, entry_id: str, fields: dict[str, str]) -> bool:
        """Handles one entry; True when it is done with (handled, skipped or malformed)."""
        try:
            event = Event.from_fields(fields)
        except (KeyError, ValueError):
            log.error("malformed event dead-lettered", extra={"stream": stream, "entry": entry_id})
            await self._dead_letter(stream, entry_id, fields, "malformed envelope")
            return True
        handler = self.handlers.get(event.type)
        if handler is None:
            return True
        after_commit: AfterCommit | None = None
        try:
            if isinstance(handler, MarksHandled):
                async with self.pool.acquire() as connection:
                    after_commit = await handler.run(connection, event)
            else:
                async with self.pool.acquire() as connection, connection.transaction():
                    first_time = await connection.fetchval(
                        f"""INSERT INTO {self.processed_table} (event_id, type)
                            VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING true""",
                        event.id,
                        event.type,
                    )
                    if first_time:
                        after_commit = await handler(connection, event)
            if after_commit is not None:
                await after_commit()
        except Exception:
            reraise_cancellation()  # interrupted, not failed: left pending for a retry
            log.exception(
                "event handler failed", extra={"event_id": event.id, "event_type": event.type}
            )
            if self.metrics is not None:
                self.metrics.events_failed.labels(stream, event.type).inc()
            return False
        if self.metrics is not None:
            self.metrics.events_consumed.labels(stream, event.type).inc()
        return True

    async def _dead_letter(
        self, stream: str, entry_id: str, fields: Mapping[str, str], reason: str
    ) -> None:
        dead = {**fields, "source_entry": entry_id, "group": self.group, "reason": reason}
        await self.redis.xadd(dead_letter_stream(stream), dead, maxlen=10_000, approximate=True)  # type: ignore[arg-type]
        await self.redis.xack(stream, self.group, entry_id)
        if self.metrics is not None:
            self.metrics.events_dead_lettered.labels(stream).inc()

    async def read_new(self, *, wait: bool = True) -> int:
        """Reads and handles entries never delivered to this group; returns how many.

        By lane (with a `partition`), `wait=False` returns once they are taken, and the
        next read may come while they are handled (what `run` does)."""
        await self.lanes.wait_for_room()
        response: Any = await self.redis.xreadgroup(
            self.group,
            self.name,
            dict.fromkeys(self.streams, ">"),
            count=self.lanes.room() if self.partition is not None else self.batch_size,
            block=self.block_ms,
        )
        batch: list[Entry] = [
            (stream, entry_id, fields)
            for stream, entries in response or []
            for entry_id, fields in entries
        ]
        if self.partition is None:
            for entry in batch:
                await self._handle_entry(entry)
            return len(batch)
        wanted = []
        for entry in batch:
            stream, entry_id, fields = entry
            if fields.get("type") is not None and fields["type"] not in self.handlers:
                self._acknowledge(stream, entry_id)  # no handler wants it
            else:
                wanted.append(entry)
        # Held from now on, so that the retries never take one waiting behind a barrier.
        self.lanes.hold(entry[1] for entry in wanted)
        # Stream by stream the entries come in order; lanes keep the order that matters.
        for entry in wanted:
            await self.lanes.add(self._key(entry[2]), entry)
        if wait:
            await self.lanes.drain()
            await self.flush_acks()
        return len(batch)

    def _key(self, fields: dict[str, str]) -> str | None:
        assert self.partition is not None
        try:
            return self.partition(Event.from_fields(fields))
        except (KeyError, ValueError, TypeError):
            return None  # handled alone (a malformed one is dead-lettered by `handle`)

    async def _handle_entry(self, entry: Entry) -> None:
        stream, entry_id, fields = entry
        if await self.handle(stream, entry_id, fields):
            await self.redis.xack(stream, self.group, entry_id)

    async def _handle_in_lane(self, entry: Entry) -> None:
        """Handles an entry before the next of its lane: one that fails is tried again here
        (after the retry delay, doubling) rather than left to the retries, which would take
        it after the lane's later entries; after `max_attempts` it is dead-lettered. The
        lane's other entries wait meanwhile, other lanes go on."""
        stream, entry_id, fields = entry
        for attempt in range(1, self.max_attempts + 1):
            if await self.handle(stream, entry_id, fields):
                self._acknowledge(stream, entry_id)
                return
            if attempt < self.max_attempts:
                await pause(self._retry_delay_ms(attempt) / 1000)
        await self._give_up(stream, entry_id, fields, self.max_attempts)

    def _retry_delay_ms(self, attempts: int) -> float:
        """How long an entry that failed `attempts` times waits before the next."""
        return self.retry_delay_ms * 2.0 ** (attempts - 1)

    async def _give_up(
        self, stream: str, entry_id: str, fields: dict[str, str], attempts: int
    ) -> None:
        log.error(
            "event dead-lettered after repeated failures",
            extra={"stream": stream, "entry": entry_id, "attempts": attempts},
        )
        await self._dead_letter(stream, entry_id, fields, f"failed {attempts} times")

    def _acknowledge(self, stream: str, entry_id: str) -> None:
        self._unacked[stream].append(entry_id)
        self._ack_due.set()

    async def flush_acks(self) -> None:
        """Acknowledges what lanes are done with, one command per stream."""
        self._ack_due.clear()
        unacked, self._unacked = self._unacked, defaultdict(list)
        for stream, entry_ids in unacked.items():
            try:
                await self.redis.xack(stream, self.group, *entry_ids)
            except (OSError, aioredis.RedisError) as exc:
                reraise_cancellation()  # redis-py's word for an interrupted command
                # Left pending: a retry finds them handled (and the reader, meeting the same
                # failure, waits for Redis).
                _redis_failed(exc)

    async def _ack_loop(self) -> None:
        while True:
            reraise_cancellation()  # one that vanished in the last turn: see shared/tasks.py
            await self._ack_due.wait()
            await self.flush_acks()

    async def _retry_loop(self) -> None:
        """Retries and the lag metric beside the reader, so that a read never waits for
        them (by lane only: one event at a time means one at a time)."""
        while True:
            await pause(min(self.retry_delay_ms, self.claim_idle_ms) / 1000 / 2)
            try:
                await self.retry_pending()
                await self.update_lag()
            except (OSError, aioredis.ConnectionError, aioredis.TimeoutError) as exc:
                reraise_cancellation()  # redis-py's word for an interrupted command
                _redis_failed(exc)  # the reader waits for Redis
            except aioredis.ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    log.exception("event retries failed", extra={"group": self.group})

    async def retry_pending(self) -> int:
        """Takes over entries pending too long: failed here, or read by a replica that died.

        An entry is retried after a delay that doubles with each delivery, and moved to the
        dead-letter stream once it has been delivered `max_attempts` times.
        """
        taken = 0
        for stream in self.streams:
            pending = await self.redis.xpending_range(
                stream,
                self.group,
                min="-",
                max="+",
                count=self.batch_size,
                idle=min(self.retry_delay_ms, self.claim_idle_ms),
            )
            for item in pending:
                entry_id = str(item["message_id"])
                if self.lanes.holds(entry_id):
                    continue  # still waiting in its lane here: not failed
                deliveries = int(item["times_delivered"])
                idle = int(item["time_since_delivered"])
                own = item["consumer"] == self.name
                wait = self._retry_delay_ms(deliveries) if own else self.claim_idle_ms
                if idle < wait:
                    continue
                claimed: Any = await self.redis.xclaim(
                    stream, self.group, self.name, idle, [entry_id]
                )
                if not claimed or claimed[0] is None:
                    continue  # another replica took it first, or it was trimmed
                _, fields = claimed[0]
                taken += 1
                if deliveries >= self.max_attempts:
                    await self._give_up(stream, entry_id, fields, deliveries)
                elif await self.handle(stream, entry_id, fields):
                    await self.redis.xack(stream, self.group, entry_id)
        return taken

    async def update_lag(self) -> None:
        if self.metrics is None:
            return
        for stream in self.streams:
            for group in await self.redis.xinfo_groups(stream):
                if group["name"] == self.group and group.get("lag") is not None:
                    self.metrics.consumer_lag.labels(stream).set(group["lag"])

    async def run(self) -> None:
        await self.ensure_groups()
        if self.partition is None:
            await self._read_until_stopped(retries=True)
            return
        helpers = [asyncio.create_task(self._retry_loop()), asyncio.create_task(self._ack_loop())]
        try:
            await self._read_until_stopped(retries=False)
            await self.lanes.drain()  # asked to stop: what was taken is finished
            await self.flush_acks()
        finally:
            for task in helpers:
                task.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            await self.lanes.stop()

    async def _read_until_stopped(self, *, retries: bool) -> None:
        loop = asyncio.get_running_loop()
        last_retry = 0.0
        retry_every = min(self.retry_delay_ms, self.claim_idle_ms) / 1000 / 2
        while not self._stopping:
            reraise_cancellation()  # one that vanished in the last turn: see shared/tasks.py
            try:
                await self.read_new(wait=False)
                if retries and loop.time() - last_retry >= retry_every:
                    await self.retry_pending()
                    await self.update_lag()
                    last_retry = loop.time()
            except aioredis.ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                await self.ensure_groups()  # the stream was deleted under us
            except (OSError, aioredis.ConnectionError, aioredis.TimeoutError) as exc:
                reraise_cancellation()
                log.warning("event consumer waits for Redis", extra={"error": repr(exc)})
                await asyncio.sleep(1.0)


def consumer_ctx(
    group: str,
    producers: Sequence[str],
    handlers: Callable[[web.Application], Mapping[str, Handler | MarksHandled]],
    **options: Any,
) -> Callable[[web.Application], AsyncIterator[None]]:
    """Runs a consumer for the app's lifetime; `handlers(app)` may use what earlier contexts set."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        consumer = EventConsumer(
            app[PG_POOL], app[REDIS], group, producers, handlers(app), app[METRICS], **options
        )
        task = asyncio.create_task(
            supervise(f"consumer:{group}", consumer.run), name=f"consumer:{group}"
        )
        try:
            yield
        finally:
            consumer.stop()
            await asyncio.wait({task}, timeout=consumer.block_ms / 1000 + 1)
            await stop_task(task)

    return ctx
