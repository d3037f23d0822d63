"""What a long-running process keeps, on request (SIGUSR2).

SIGUSR2 runs a full collection of the garbage collector and logs how many unreachable objects
it found and the private resident memory (RssAnon) before and after: memory that a collection
returns was cyclic garbage waiting for it, not something the process keeps. Started with
`PYTHONTRACEMALLOC=<frames>` (Python traces every allocation from its start), the process
also writes a tracemalloc snapshot after the collection, to
`$TRACEMALLOC_DIR/<service>-<pid>-<n>.snapshot` (DATA_DIR/tracemalloc without it).
`python -m bench.soak` uses both on the chat replicas.
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


def private_kb() -> int:
    """This process's private resident memory (RssAnon, kB; 0 where /proc has none)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def install_diagnostics_signal(loop: asyncio.AbstractEventLoop, service: str) -> None:
    folder = Path(
        os.environ.get("TRACEMALLOC_DIR") or Path(os.environ.get("DATA_DIR") or ".") / "tracemalloc"
    )
    numbers = itertools.count(1)

    def on_signal() -> None:
        before = private_kb()
        unreachable = gc.collect()
        after = private_kb()
        extra: dict[str, object] = {
            "unreachable": unreachable,
            "private_kb_before": before,
            "private_kb_after": after,
            "tracked_objects": len(gc.get_objects()),
        }
        if tracemalloc.is_tracing():
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{service}-{os.getpid()}-{next(numbers)}.snapshot"
            tracemalloc.take_snapshot().dump(str(path))
            extra["snapshot"] = str(path)
        log.warning("full collection on request", extra=extra)

    loop.add_signal_handler(signal.SIGUSR2, on_signal)
