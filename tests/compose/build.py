"""`python -m tests.compose.build`: build the image as `make test-compose` builds it.

CI runs it in the background after `tests/compose/prepare.sh`, while the other suites run, so
that the compose tests find the image's layers built (their own build is then a cache hit).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from tests.compose.stack import Stack


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="chopchop-compose-build-") as folder:
        stack = Stack(Path(folder))
        stack.configure()
        started = time.monotonic()
        stack.compose("build", timeout=1500)
    print(f"image built in {time.monotonic() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
