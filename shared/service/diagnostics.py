"""Memory snapshots on request, for finding what a long-running process keeps.

Started with `PYTHONTRACEMALLOC=<frames>` (Python traces every allocation from its start), a
service writes a tracemalloc snapshot each time it receives SIGUSR2, to
`$TRACEMALLOC_DIR/<service>-<pid>-<n>.snapshot` (DATA_DIR/tracemalloc without it), and logs
where. `python -m bench.soak --tracemalloc` takes snapshots of the chat replicas under churn
and compares them. Without tracing, nothing is installed: SIGUSR2 keeps its default.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import logging
import os
import signal
import tracemalloc
from pathlib import Path

log = logging.getLogger(__name__)


def install_snapshot_signal(loop: asyncio.AbstractEventLoop, service: str) -> bool:
    """SIGUSR2 writes a snapshot, if this process traces its allocations; returns whether."""
    if not tracemalloc.is_tracing():
        return False
    folder = Path(
        os.environ.get("TRACEMALLOC_DIR") or Path(os.environ.get("DATA_DIR") or ".") / "tracemalloc"
    )
    numbers = itertools.count(1)

    def snapshot() -> None:
        folder.mkdir(parents=True, exist_ok=True)
        gc.collect()  # what is kept, not what waits for the collector
        path = folder / f"{service}-{os.getpid()}-{next(numbers)}.snapshot"
        tracemalloc.take_snapshot().dump(str(path))
        log.warning("tracemalloc snapshot written", extra={"path": str(path)})

    loop.add_signal_handler(signal.SIGUSR2, snapshot)
    return True
