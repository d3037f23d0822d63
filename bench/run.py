"""`make bench`: posts routes through the gateway on the standard data set, against the
machine's ceiling (a bare aiohttp JSON handler), measured side by side in one run.

Starts its own stack (embedded servers unless DATABASE_URL / REDIS_URL are set), seeds it
through the public API, measures with wrk, then restarts posts_service with its cache off to
measure the 100-article list again.
"""

from __future__ import annotations

import asyncio
import sys

from bench import loadgen
from bench.harness import bench_environment
from bench.seed import TAGS, seed
from devstack.embedded import free_port


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    loadgen.require_wrk()
    with bench_environment() as bench:
        unlimited = {"RATE_LIMIT_ANON": "0", "RATE_LIMIT_USER": "0", "DB_POOL_MAX": "10"}
        ports = bench.start_stack(**unlimited)
        gateway = f"http://127.0.0.1:{ports['gateway']}"
        print("seeding the standard data set...", flush=True)
        seeded = asyncio.run(seed(gateway))
        token = {"Authorization": f"Token {next(iter(seeded.tokens.values()))}"}
        ceiling_port = free_port()
        ceiling = f"http://127.0.0.1:{ceiling_port}/"
        bench.start("bench.ceiling", str(ceiling_port), wait=ceiling)
        api = f"{gateway}/api"
        cases: list[tuple[str, str, dict[str, str] | None]] = [
            ("ceiling (bare aiohttp)", ceiling, None),
            ("articles?limit=20 anonymous", f"{api}/articles?limit=20", None),
            ("articles?limit=20 signed in", f"{api}/articles?limit=20", token),
            (f"articles?tag={TAGS[0]}", f"{api}/articles?tag={TAGS[0]}", None),
            ("articles/feed", f"{api}/articles/feed", token),
            ("one article", f"{api}/articles/{seeded.slugs[0]}", None),
            ("articles?limit=100 cache warm", f"{api}/articles?limit=100", None),
        ]
        rows = {name: loadgen.measure(url, headers, seconds) for name, url, headers in cases}
        bench.restart_service(
            "posts",
            ports["posts"],
            ports["gateway"],
            ARTICLE_CACHE="false",
            AUTH_URL=f"http://127.0.0.1:{ports['auth']}",
            SOCIAL_URL=f"http://127.0.0.1:{ports['social']}",
            **unlimited,
        )
        rows["articles?limit=100 cache off"] = loadgen.measure(
            f"{api}/articles?limit=100", None, seconds
        )
    print(f"wrk, {seconds:.0f} s per measurement; {len(seeded.slugs)} articles seeded")
    print(loadgen.table(rows))
    ceiling_rate = rows["ceiling (bare aiohttp)"][0].requests_per_second
    for name, (load, _) in rows.items():
        print(f"{name:28} {load.requests_per_second / ceiling_rate:6.3f} of the ceiling")
    warm = rows["articles?limit=100 cache warm"][0].requests_per_second
    cold = rows["articles?limit=100 cache off"][0].requests_per_second
    print(f"warm cache speed-up on limit=100: {warm / cold:.1f}x (target >= 5)")


if __name__ == "__main__":
    main()
