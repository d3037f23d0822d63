"""The full passes of the garbage collector (shared/service/collector.py): cyclic garbage of
objects that had reached the oldest generation (a closed websocket's) is freed once enough
connections closed, without waiting for the spaced thresholds, which a quiet process never
reaches; a process whose connections stay open is not walked through for nothing."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator

import aiohttp
import pytest
from aiohttp import web

from shared.service.collector import (
    CONNECTIONS,
    GC_FEW_OPEN,
    Connections,
    schedule_full_collections,
    settle_garbage_collector,
)
from shared.service.deadlines import ReadDeadlines, start_server


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def old_cycle() -> weakref.ref[Node]:
    """A cycle that survived two passes (in the oldest generation), then dropped."""
    first, second = Node(), Node()
    first.other, second.other = second, first
    gc.collect(0)
    gc.collect(1)  # survivors of a pass over generation 1 move to the oldest
    return weakref.ref(first)


async def wait_freed(ref: weakref.ref[Node], seconds: float) -> bool:
    for _ in range(int(seconds / 0.05)):
        if ref() is None:
            return True
        await asyncio.sleep(0.05)
    return ref() is None


@pytest.fixture
def settled() -> Iterator[None]:
    before = gc.get_threshold()
    try:
        settle_garbage_collector()
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


async def test_with_few_connections_open_a_pass_comes_at_every_interval(settled: None) -> None:
    # An HTTP service: its keep-alive connections stay open, its requests leave cycles.
    connections = Connections(opened=GC_FEW_OPEN - 1)
    stop = schedule_full_collections(asyncio.get_running_loop(), 0.1, connections)
    try:
        ref = old_cycle()
        assert await wait_freed(ref, 5.0)
    finally:
        stop()


async def test_with_many_open_a_quarter_of_them_must_close_first(settled: None) -> None:
    connections = Connections(opened=GC_FEW_OPEN * 4)
    # No pass forced within the test: every 100 intervals.
    stop = schedule_full_collections(asyncio.get_running_loop(), 0.1, connections, 100)
    try:
        ref = old_cycle()
        assert not await wait_freed(ref, 0.5)  # nothing closed: no pass
        connections.closed += 100  # 100 of 3,900 open: the pass would walk for little
        assert not await wait_freed(ref, 0.5)
        connections.closed += 900  # 1,000 of 3,000 open
        assert await wait_freed(ref, 5.0)
    finally:
        stop()


async def test_a_pass_comes_every_few_intervals_whatever_closed(settled: None) -> None:
    connections = Connections(opened=GC_FEW_OPEN * 4)
    stop = schedule_full_collections(asyncio.get_running_loop(), 0.1, connections, 3)
    try:
        ref = old_cycle()
        assert await wait_freed(ref, 5.0)
    finally:
        stop()


async def test_without_it_old_cyclic_garbage_waits_for_the_thresholds(settled: None) -> None:
    """What the full passes are for: with the spaced thresholds and nothing allocating, no
    pass reaches the oldest generation."""
    ref = old_cycle()
    assert not await wait_freed(ref, 0.5)
    gc.collect()
    assert ref() is None


async def hello(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def test_the_server_counts_the_connections_it_accepts_and_closes() -> None:
    app = web.Application()
    app.router.add_get("/", hello)
    runner = await start_server(app, "127.0.0.1", 0, ReadDeadlines(headers=5.0, body_idle=5.0))
    port = runner.addresses[0][1]
    opened, closed = CONNECTIONS.opened, CONNECTIONS.closed
    try:
        for _ in range(3):
            connector = aiohttp.TCPConnector(force_close=True)
            async with (
                aiohttp.ClientSession(connector=connector) as session,
                session.get(f"http://127.0.0.1:{port}/") as response,
            ):
                assert response.status == 200
        for _ in range(100):
            if CONNECTIONS.closed - closed == 3:
                break
            await asyncio.sleep(0.02)
    finally:
        await runner.cleanup()
    assert CONNECTIONS.opened - opened == 3
    assert CONNECTIONS.closed - closed == 3
