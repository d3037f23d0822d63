"""`python -m bench.web [LOADS] [MESSAGES]`: the web client in headless Chromium, beside the
same API calls made from Python in the same run.

Starts the whole suite as `make run` does (embedded servers unless DATABASE_URL / REDIS_URL
are set), seeds the standard data set through the public API, then measures with
`web/e2e/bench.mjs` (playwright-core on /usr/bin/chromium):

- Home: time from navigation start to the first article card, in a new browser context
  (nothing cached) and on a reload (the hashed assets cached), LOADS times each; beside it
  the API calls that load made, made again from Python (in parallel, as the page makes them);
- chat: from pressing Enter in one browser to the message showing in another (two people
  in a direct chat, MESSAGES messages one after another); beside it the same message sent
  with `POST /api/chats/{id}/messages` from Python (with an Idempotency-Key, as the client
  sends it) and received on the other person's websocket;
- the build: the JavaScript and CSS that `index.html` loads, gzipped, against the budgets
  (120 KB and 30 KB), and what the browser fetched for Home.

Needs the built client (`make install` with Node.js 20+) and Chromium.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import re
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from bench.harness import bench_environment
from bench.seed import PASSWORD, seed
from devstack.stack import ROOT

WEB_DIST = ROOT / "web" / "dist"
E2E_DIR = ROOT / "web" / "e2e"
CHROMIUM = Path("/usr/bin/chromium")
JS_BUDGET = 120 * 1024
CSS_BUDGET = 30 * 1024


def first_load_sizes(dist: Path) -> dict[str, tuple[int, int, int]]:
    """(files, bytes, gzipped bytes) of the JS and of the CSS that index.html loads."""
    html = (dist / "index.html").read_text()
    refs = set(re.findall(r'(?:src|href)="/(assets/[^"]+)"', html))
    sizes = {}
    for kind in ("js", "css"):
        files = [dist / ref for ref in sorted(refs) if ref.endswith(f".{kind}")]
        raw = sum(file.stat().st_size for file in files)
        packed = sum(len(gzip.compress(file.read_bytes(), compresslevel=9)) for file in files)
        sizes[kind] = (len(files), raw, packed)
    return sizes


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return {"n": len(ordered), "median": statistics.median(ordered), "p95": p95}


async def python_home(base: str, calls: list[str], loads: int) -> dict[str, float]:
    """The Home page's API calls, all at once as the page makes them, `loads` times."""
    times = []
    async with aiohttp.ClientSession() as session:

        async def one(call: str) -> None:
            method, path = call.split(" ", 1)
            async with session.request(method, f"{base}{path}") as response:
                await response.read()

        for _ in range(loads + 1):
            started = time.perf_counter()
            await asyncio.gather(*(one(call) for call in calls))
            times.append((time.perf_counter() - started) * 1000)
    return summary(times[1:])  # the first pays for new connections


async def python_messages(base: str, chat_id: int, tokens: tuple[str, str], count: int) -> Any:
    sender, receiver = tokens
    delays = []
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{base}/api/chat/ws?token={receiver}") as ws,
    ):
        for index in range(count):
            body = {"message": {"body": f"python-message-{index}."}}
            # As the web client sends it: with an Idempotency-Key, so a retry never doubles it.
            headers = {"Authorization": f"Token {sender}", "Idempotency-Key": str(uuid.uuid4())}
            started = time.perf_counter()
            async with session.post(
                f"{base}/api/chats/{chat_id}/messages", json=body, headers=headers
            ) as response:
                assert response.status == 201, await response.text()
            async with asyncio.timeout(10):
                while True:
                    frame = await ws.receive()
                    event = json.loads(frame.data)
                    if event["type"] == "message.created" and event["data"]["body"].startswith(
                        f"python-message-{index}."
                    ):
                        break
            delays.append((time.perf_counter() - started) * 1000)
    return summary(delays)


async def direct_chat(base: str, token: str, username: str) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{base}/api/chats",
            json={"chat": {"type": "direct", "username": username}},
            headers={"Authorization": f"Token {token}"},
        ) as response,
    ):
        assert response.status in (200, 201), await response.text()
        return int((await response.json())["chat"]["id"])


def browser_run(base: str, settings: dict[str, Any]) -> Any:
    finished = subprocess.run(
        ["node", str(E2E_DIR / "bench.mjs"), base, json.dumps(settings)],
        cwd=E2E_DIR,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if finished.returncode != 0:
        raise RuntimeError(f"the browser run failed:\n{finished.stdout}\n{finished.stderr}")
    return json.loads(finished.stdout.strip().splitlines()[-1])


def kb(size: float) -> str:
    return f"{size / 1024:.1f} KB"


def main() -> int:
    loads = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    if not (WEB_DIST / "index.html").is_file():
        print("the web client is not built: `make install` with Node.js 20+", file=sys.stderr)
        return 1
    if not CHROMIUM.is_file() or not (E2E_DIR / "node_modules" / "playwright-core").is_dir():
        print(
            "needs /usr/bin/chromium and web/e2e's playwright-core (make install)", file=sys.stderr
        )
        return 1
    sizes = first_load_sizes(WEB_DIST)
    with bench_environment() as bench:
        ports = bench.start_stack(
            RATE_LIMIT_ANON="0",
            RATE_LIMIT_USER="0",
            DB_POOL_MAX="10",
            # Signing up 50 people is not what this measures: cheap password hashes keep the
            # seeding from timing out on a busy machine.
            ARGON2_TIME_COST="1",
            ARGON2_MEMORY_KIB="8192",
        )
        base = f"http://127.0.0.1:{ports['gateway']}"
        print("seeding the standard data set...", flush=True)
        seeded = asyncio.run(seed(base))
        (sender, sender_token), (receiver, receiver_token) = list(seeded.tokens.items())[:2]
        chat_id = asyncio.run(direct_chat(base, sender_token, receiver))
        settings = {
            "loads": loads,
            "messages": count,
            "chatId": chat_id,
            "sender": {"email": f"{sender}@example.com", "password": PASSWORD},
            "receiver": {"email": f"{receiver}@example.com", "password": PASSWORD},
        }
        print("measuring in Chromium...", flush=True)
        browser = browser_run(base, settings)
        calls = browser["home"]["apiCalls"]
        python_calls = asyncio.run(python_home(base, calls, loads))
        python_chat = asyncio.run(
            python_messages(base, chat_id, (sender_token, receiver_token), count)
        )
    home = browser["home"]
    chat = browser["messages"]
    print(f"\nstandard data set: {len(seeded.slugs)} articles; {loads} loads, {count} messages")
    print(f"Home's API calls: {', '.join(calls)}")
    print("| | median | p95 |")
    print("|---|---|---|")
    rows = [
        ("Home, first card, new context", home["cold"]),
        ("Home, first card, reload", home["warm"]),
        ("Home's API calls from Python", python_calls),
        ('chat, "Send" to shown in another browser', chat),
        ("chat, POST to the other's websocket from Python", python_chat),
    ]
    for name, figures in rows:
        print(f"| {name} | {figures['median']:.1f} ms | {figures['p95']:.1f} ms |")
    parts = ", ".join(
        f"{name} {chat[key]['median']:.1f} ms"
        for name, key in (
            ("Enter to the POST leaving", "keyToRequest"),
            ("the POST", "request"),
            ("its answer to shown in the other browser", "answeredToShown"),
        )
    )
    print(f"chat medians: {parts}")
    timeline = home["timeline"]
    print(
        "first cold load, ms since navigation: "
        + ", ".join(f"{name} {value:.0f}" for name, value in timeline.items() if value is not None)
    )
    over = False
    for kind, budget in (("js", JS_BUDGET), ("css", CSS_BUDGET)):
        files, raw, packed = sizes[kind]
        over = over or packed > budget
        print(
            f"first load {kind.upper()}: {files} file(s), {kb(raw)}, {kb(packed)} gzipped "
            f"(budget {kb(budget)}){' OVER BUDGET' if packed > budget else ''}"
        )
    fetched = home["fetched"]
    print(
        f"fetched by Home's first load: JS {kb(fetched['js'])}, CSS {kb(fetched['css'])} (as sent)"
    )
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
