"""The self-healing subscriber against real Redis servers: delivery, order, restarts, stalls."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import redis.asyncio as aioredis

from devstack.embedded import start_valkey
from shared.data.redis import create_redis
from shared.transport.subscriber import Subscriber, SubscriberDown
from tests.infra import Infra
from tests.waiting import until


class Inbox:
    def __init__(self) -> None:
        self.received: list[tuple[str, str]] = []
        self.reconnections = 0
        self._changed = asyncio.Event()

    def on_message(self, channel: str, data: str) -> None:
        self.received.append((channel, data))
        self._changed.set()

    async def on_reconnect(self) -> None:
        self.reconnections += 1
        self._changed.set()

    async def wait_for(self, done: Callable[[], bool], timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while not done():
                self._changed.clear()
                await self._changed.wait()


@asynccontextmanager
async def running(subscriber: Subscriber) -> AsyncIterator[Subscriber]:
    task = asyncio.create_task(subscriber.run())
    try:
        assert await subscriber.wait_connected(5)
        yield subscriber
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def channel() -> str:
    return f"test:{uuid.uuid4().hex}"


async def test_messages_of_subscribed_channels_arrive_in_order(
    infra: Infra, redis: aioredis.Redis
) -> None:
    inbox = Inbox()
    mine, other = channel(), channel()
    async with running(Subscriber(infra.redis_url, inbox.on_message)) as subscriber:
        await subscriber.subscribe([mine])
        for number in range(50):
            await redis.publish(mine, str(number))
            await redis.publish(other, "not for me")
        await inbox.wait_for(lambda: len(inbox.received) == 50)
    assert inbox.received == [(mine, str(number)) for number in range(50)]


async def test_an_unsubscribed_channel_is_no_longer_delivered(
    infra: Infra, redis: aioredis.Redis
) -> None:
    inbox = Inbox()
    first, second = channel(), channel()
    async with running(Subscriber(infra.redis_url, inbox.on_message)) as subscriber:
        await subscriber.subscribe([first, second])
        subscriber.unsubscribe([first])
        await redis.publish(first, "dropped")
        await redis.publish(second, "kept")
        await inbox.wait_for(lambda: len(inbox.received) == 1)
        await asyncio.sleep(0.2)
    assert inbox.received == [(second, "kept")]


async def test_the_subscription_comes_back_after_redis_restarts(tmp_path: Path) -> None:
    server, url = start_valkey(tmp_path / "valkey", persist=False)
    port = server.port
    inbox = Inbox()
    name = channel()
    subscriber = Subscriber(url, inbox.on_message, inbox.on_reconnect, ping_interval=0.2)
    try:
        async with running(subscriber):
            await subscriber.subscribe([name])
            server.stop()
            server, _ = start_valkey(tmp_path / "valkey", port=port, persist=False)
            await inbox.wait_for(lambda: inbox.reconnections == 1, timeout=10)
            publisher = create_redis(url)
            try:
                await publisher.publish(name, "after the restart")
            finally:
                await publisher.aclose()
            await inbox.wait_for(lambda: len(inbox.received) == 1)
    finally:
        server.stop()
    assert inbox.received == [(name, "after the restart")]
    assert subscriber.reconnects == 1


async def test_subscribing_while_redis_is_down_fails_fast_and_holds_on_reconnection(
    tmp_path: Path,
) -> None:
    server, url = start_valkey(tmp_path / "valkey", persist=False)
    port = server.port
    inbox = Inbox()
    name = channel()
    subscriber = Subscriber(url, inbox.on_message, inbox.on_reconnect, ping_interval=0.2)
    try:
        async with running(subscriber):
            server.stop()
            await until(lambda: not subscriber.connected)
            try:
                await subscriber.subscribe([name])
                raise AssertionError("subscribe should fail while Redis is down")
            except SubscriberDown:
                pass
            server, _ = start_valkey(tmp_path / "valkey", port=port, persist=False)
            await inbox.wait_for(lambda: inbox.reconnections == 1, timeout=10)
            publisher = create_redis(url)
            try:
                await publisher.publish(name, "recorded while down")
            finally:
                await publisher.aclose()
            await inbox.wait_for(lambda: len(inbox.received) == 1)
    finally:
        server.stop()
    assert inbox.received == [(name, "recorded while down")]


async def test_a_server_that_stops_answering_is_left_for_a_new_connection() -> None:
    """A stalled server is a dead one: pings that go unanswered end the connection."""
    connections = 0

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        with contextlib.suppress(ConnectionError):
            while await reader.read(1024):
                pass  # takes every command, answers none
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    inbox = Inbox()
    subscriber = Subscriber(
        f"redis://127.0.0.1:{port}/0", inbox.on_message, ping_interval=0.1, timeout=0.1
    )
    try:
        async with running(subscriber):
            try:
                await subscriber.subscribe([channel()])
                raise AssertionError("an unconfirmed subscription must fail")
            except SubscriberDown:
                pass
            await until(lambda: connections >= 3)
    finally:
        server.close()
        await server.wait_closed()
    assert connections >= 3
