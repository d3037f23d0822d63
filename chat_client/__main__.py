"""`python -m chat_client` and the `chopchop-chat` script: run the command line and exit."""

from __future__ import annotations

import sys

from chat_client.cli import run


def main() -> None:
    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
