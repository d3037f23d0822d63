"""The gateway's cost: a cheap service route called directly, through a naive aiohttp proxy,
and through the gateway with authentication, rate limits and balancing on.

`python -m bench.gateway [seconds]` prints req/s at 32 connections, median and p99 at one
connection, and the ratios. The rate limits are set far above what the run sends, so that
what is measured is their cost, never a refusal.
"""

from __future__ import annotations

import json
import sys
import urllib.request

from bench import loadgen
from bench.harness import bench_environment
from devstack.embedded import free_port

ROUTE = "/api/.well-known/jwks.json"  # served by auth_service from memory


def token_for(gateway: str) -> str:
    body = json.dumps(
        {"user": {"username": "bencher", "email": "bench@example.com", "password": "benchmark1"}}
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - a local http URL
        f"{gateway}/api/users", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request) as response:  # noqa: S310 - local URL
        return str(json.load(response)["user"]["token"])


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    loadgen.require_wrk()
    with bench_environment() as bench:
        ports = bench.start_stack(RATE_LIMIT_ANON="100000000", RATE_LIMIT_USER="100000000")
        direct = f"http://127.0.0.1:{ports['auth']}"
        gateway = f"http://127.0.0.1:{ports['gateway']}"
        naive_port = free_port()
        bench.start(
            "bench.naive_proxy",
            str(naive_port),
            direct,
            wait=f"http://127.0.0.1:{naive_port}{ROUTE}",
        )
        naive = f"http://127.0.0.1:{naive_port}"
        auth = {"Authorization": f"Token {token_for(gateway)}"}
        rows = {
            "direct": loadgen.measure(direct + ROUTE, auth, seconds),
            "naive proxy": loadgen.measure(naive + ROUTE, auth, seconds),
            "gateway": loadgen.measure(gateway + ROUTE, auth, seconds),
        }
    print(f"route: GET {ROUTE} with a valid token; wrk, {seconds:.0f} s per measurement")
    print(loadgen.table(rows))
    direct_rps, naive_rps, gateway_rps = (
        rows[n][0].requests_per_second for n in ("direct", "naive proxy", "gateway")
    )
    naive_median, gateway_median = rows["naive proxy"][1].median_ms, rows["gateway"][1].median_ms
    print(f"naive proxy / direct throughput:   {naive_rps / direct_rps:.2f}x")
    print(f"gateway / direct throughput:       {gateway_rps / direct_rps:.2f}x")
    print(f"gateway / naive proxy throughput:  {gateway_rps / naive_rps:.2f}x (target >= 0.9)")
    added = gateway_median - naive_median
    print(f"gateway median - naive median:     {added:+.3f} ms (target <= +0.1)")


if __name__ == "__main__":
    main()
