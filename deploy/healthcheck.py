"""The image's health check: exits 0 when the process in this container answers ready.

`/health/ready` rather than `/health`: compose starts a service's dependents once it can
serve (its database and Redis answer), not merely once it runs. The standard library only,
since the slim image has no curl.
"""

from __future__ import annotations

import os
import sys
import urllib.request


def main() -> int:
    bind = os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{os.environ.get('PORT') or 8000}"
    port = bind.rsplit(":", 1)[-1]
    path = sys.argv[1] if len(sys.argv) > 1 else "/health/ready"
    url = f"http://127.0.0.1:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            return 0 if response.status == 200 else 1
    except OSError as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
