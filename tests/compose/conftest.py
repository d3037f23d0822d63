"""One compose deployment of this checkout for the whole module: built once, up with three posts
replicas and two chat replicas, taken down with its volumes at the end."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.compose.stack import Stack, run


def report(name: str, text: str) -> None:
    print(f"\nCOMPOSE {name}: {text}", flush=True)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    folder: Path = tmp_path_factory.mktemp("compose")
    stack = Stack(folder)
    stack.configure()
    started = time.monotonic()
    stack.compose("build", timeout=1500)
    built = time.monotonic() - started
    try:
        took = stack.up()
        report(
            "up",
            f"image built in {built:.0f} s; up -d --wait with posts x3, chat x2 healthy in "
            f"{took:.0f} s",
        )
        yield stack
    finally:
        if any(stack.leftovers().values()):  # the last test takes it down when all went well
            logs = stack.save_logs()
            stack.compose("down", "--volumes", "--remove-orphans", "--timeout", "20", check=False)
            print(f"\ncompose logs: {logs}", flush=True)


__all__ = ["report", "run"]
