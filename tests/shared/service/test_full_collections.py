"""A started service runs a full collection every GC_FULL_INTERVAL seconds: cyclic garbage of
objects that had reached the oldest generation (a closed websocket's) is freed without
waiting for the spaced thresholds, which a quiet process never reaches."""

from __future__ import annotations

import asyncio
import gc
import weakref

from shared.service.app import schedule_full_collections, settle_garbage_collector


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


async def test_old_cyclic_garbage_is_freed_by_the_periodic_full_pass() -> None:
    before = gc.get_threshold()
    stop = None
    try:
        settle_garbage_collector()
        stop = schedule_full_collections(asyncio.get_running_loop(), 0.1)
        ref = old_cycle()
        assert await wait_freed(ref, 5.0)
    finally:
        if stop is not None:
            stop()
        gc.unfreeze()
        gc.set_threshold(*before)


async def test_without_it_old_cyclic_garbage_waits_for_the_thresholds() -> None:
    """What the periodic pass is for: with the spaced thresholds and nothing allocating,
    no pass reaches the oldest generation."""
    before = gc.get_threshold()
    try:
        settle_garbage_collector()
        ref = old_cycle()
        assert not await wait_freed(ref, 0.5)
        gc.collect()
        assert ref() is None
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
