"""`python -m devstack.openapi [FILE]`: the gateway's merged OpenAPI document, written to FILE.

What `make web-api` runs to refresh the web client's committed snapshot (`web/openapi.json`,
from which `npm run gen:api` generates the client's types): starts embedded PostgreSQL,
Valkey and a mail catcher in a temporary folder, every service and the gateway on free ports,
fetches `/api/openapi.json`, and stops everything. No running `make run` is needed, and none
is disturbed.
"""

from __future__ import annotations

import json
import sys
import tempfile
import urllib.request
from pathlib import Path

from devstack import stack
from devstack.embedded import free_port
from devstack.infra import start_infra, stop_infra


def merged_document(work_dir: Path) -> str:
    infra = start_infra(work_dir)
    processes = []
    try:
        ports = {name: free_port() for name in stack.SERVICES}
        ports["gateway"] = free_port()
        base_env = infra.env(DATA_DIR=str(work_dir), LOG_LEVEL="warning")
        specs = stack.plan(base_env, {}, ports)
        processes = [stack.start(spec, work_dir) for spec in specs]
        for spec, process in zip(specs, processes, strict=True):
            stack.wait_ready(f"http://127.0.0.1:{spec.port}/health/ready", 60, process)
        url = f"http://127.0.0.1:{ports['gateway']}/api/openapi.json"
        with urllib.request.urlopen(url, timeout=30) as response:
            document = json.load(response)
    finally:
        stack.stop(processes)
        stop_infra(infra)
    return json.dumps(document, indent=4) + "\n"


def main() -> int:
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "web/openapi.json")
    with tempfile.TemporaryDirectory(prefix="chopchop-openapi-") as folder:
        text = merged_document(Path(folder))
    changed = not target.exists() or target.read_text() != text
    target.write_text(text)
    print(f"{target}: {'updated' if changed else 'unchanged'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
