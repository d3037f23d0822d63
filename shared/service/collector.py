"""Python's cyclic garbage collector in a long-running server: spaced passes, what lives at
start frozen, and full passes that come when closed connections have left garbage.

Python runs a young-generation pass every 700 allocations of container objects, and every
request allocates thousands (frames of coroutines, futures, dicts of JSON). Cycles are rare
in a request's garbage, which reference counting frees, so the passes mostly walk live
objects. Fewer, larger passes cost less in all (GC_THRESHOLDS), and the objects alive once
the service has started (modules, the app, pools) are moved out of the collector's sight so
that no full pass walks them again.

With those thresholds the oldest generation is visited after about 100 million allocations
of containers (50,000 x 20 x 100): hours, in a quiet process. What outlives a few young
passes reaches it (a websocket's objects, a keep-alive connection's), and the cycles they
leave when they close (a socket's tasks, protocol and handler refer to each other) wait for
that visit: a chat replica under socket churn grew by 1 MB a minute and kept it at rest
(bench/README.md, the soak). So a full pass is looked at every GC_FULL_INTERVAL seconds.

A full pass walks every live object, and costs about 0.3 s of CPU in a process holding
5,000-10,000 open websockets (bench/README.md, 10,000 open sockets): every socket's
messages wait meanwhile. With fewer than GC_FEW_OPEN connections open it walks little
(milliseconds) and runs every interval: an HTTP service's requests leave cycles too, and
its keep-alive connections seldom close (the soak: 28,000 unreachable objects in social
after ten minutes without a pass). With more, it runs when the connections closed since
the last one (the garbage) are at least a quarter of those open (what it walks), as
Python's own rule for its oldest generation; and every GC_FORCED_EVERY intervals whatever
closed, for garbage of other kinds.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from dataclasses import dataclass

from shared.settings import Env

GC_THRESHOLDS = (50_000, 20, 100)
GC_FULL_INTERVAL = 60.0
GC_FEW_OPEN = 1_000  # open connections under which a full pass is cheap
GC_FORCED_EVERY = 10  # intervals: a full pass at least this often


@dataclass
class Connections:
    """The connections this process's servers accepted and closed so far
    (shared/service/deadlines.py counts them)."""

    opened: int = 0
    closed: int = 0

    @property
    def open(self) -> int:
        return self.opened - self.closed


CONNECTIONS = Connections()


def settle_garbage_collector(loop: asyncio.AbstractEventLoop | None = None) -> None:
    """Once the app has started: freezes what lives now, spaces the collector's passes, and
    (given the loop) looks at a full pass every GC_FULL_INTERVAL seconds (the environment's
    `GC_FULL_INTERVAL`, 0 for none)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    if loop is not None:
        interval = Env().number("GC_FULL_INTERVAL", GC_FULL_INTERVAL, minimum=0.0)
        if interval > 0:
            schedule_full_collections(loop, interval)


def schedule_full_collections(
    loop: asyncio.AbstractEventLoop,
    interval: float,
    connections: Connections = CONNECTIONS,
    forced_every: int = GC_FORCED_EVERY,
) -> Callable[[], None]:
    """Every `interval` seconds on this loop, a full collection if enough connections closed
    since the last (or `forced_every` intervals went by without one); returns what stops
    them."""
    handle: asyncio.TimerHandle | None = None
    closed_at_last = connections.closed
    intervals = 0

    def collect() -> None:
        nonlocal handle, closed_at_last, intervals
        intervals += 1
        closed = connections.closed - closed_at_last
        due = connections.open < GC_FEW_OPEN or closed >= connections.open // 4
        if due or intervals >= forced_every:
            gc.collect()
            closed_at_last, intervals = connections.closed, 0
        handle = loop.call_later(interval, collect)

    def stop() -> None:
        if handle is not None:
            handle.cancel()

    handle = loop.call_later(interval, collect)
    return stop
