"""Chat fan-out: M websockets in one group chat, over two chat replicas behind the gateway,
against a bare aiohttp server that broadcasts from memory (`bench/broadcast.py`).

`python -m bench.chat --idle N` measures many idle sockets instead (`bench/chat_idle.py`).

`python -m bench.chat [seconds] [NAME=VALUE ...]` starts the stack with two chat replicas (the
NAME=VALUE settings are added to its environment), registers USERS users who join one group
chat, opens M sockets (USERS users with M / USERS devices each: every device of a member
receives every message) and sends messages at a fixed rate through the gateway, each with its
send time, from which the receiving clients measure the delay. The yardstick gets the same
clients, the same rates and a frame of the same shape and size. Per side and rate: median and
p99 of the delay from send to receipt, deliveries per second (frames received by all clients
/ time from the first send to the last receipt), sockets that did not open or were dropped.

The receiving clients run in CLIENT_PROCESSES processes on the same two cores as what they
measure: the figures are those of the whole machine, clients included, on both sides alike.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp

from bench.chat_clients import OPEN_WITHIN, RoundResult, client_process
from bench.harness import bench_environment, client_processes, receive
from devstack import stack
from devstack.embedded import free_port

USERS = 100
SIZES = (100, 1000)  # sockets: the same users with one device each, then with ten
RATE = 20.0  # messages per second: the rate of the targets, at every size
HIGHER_RATES = (50.0, 100.0, 200.0)  # at the largest size: where each side saturates
# A round sends at most this many messages, fewer than a chat socket's queue (CHAT_WS_QUEUE,
# 256), so that a backlog within one round never closes a socket as too slow.
MAX_ROUND = 250
WARM_UP = 10  # messages sent and received before the rounds, unrecorded
CLIENT_PROCESSES = 2
DRAIN = 10.0  # seconds a round waits, after its last send, for every socket to get everything
# Setup is not what is measured: fewer calls at once than a chat replica has database
# connections, so that it never queues on a pool.
SETUP_CONCURRENCY = 4
STACK_ENV = {
    "RATE_LIMIT_ANON": "0",
    "RATE_LIMIT_USER": "0",
    "ARGON2_TIME_COST": "1",
    "ARGON2_MEMORY_KIB": "1024",
    "DB_POOL_MAX": "10",
}
PASSWORD = "chat-bench-1"
FILLER = "chop the onions finely, then stir them into the pan until golden"
TARGET_P99_MS = 50.0
TARGET_SHARE = 0.5


@dataclass
class Side:
    name: str
    socket_urls: Callable[[int], list[str]]  # the URL of each of n sockets
    post_url: str
    headers: dict[str, str]
    replica_ports: Sequence[int] = ()  # where to count the sockets each replica holds


@dataclass
class Row:
    side: str
    sockets: int
    opened: int
    rate: float
    sent: int
    delivered: int
    deliveries_per_second: float
    p50_ms: float
    p99_ms: float
    post_p50_ms: float
    frame_bytes: int
    close_codes: dict[str, int]
    open_seconds: float  # to open every socket
    ready_seconds: float  # and to deliver the warm-up messages to each
    spread: str

    @property
    def dropped(self) -> int:
        return sum(self.close_codes.values())


def _percentile(ordered: Sequence[float], share: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _established(port: int) -> int:
    """Connections established to 127.0.0.1:port, from /proc/net/tcp (Linux; 0 elsewhere)."""
    try:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return 0
    return sum(
        1
        for parts in (line.split() for line in lines)
        if parts[3] == "01" and int(parts[1].rsplit(":", 1)[1], 16) == port
    )


async def _send(
    session: aiohttp.ClientSession, side: Side, tag: str, rate: float, count: int
) -> tuple[int, float, list[float]]:
    """Sends `count` messages at `rate` without waiting for answers (a slow answer must not
    slow the rate down); returns how many were accepted, when the first left, and the sorted
    POST latencies."""
    latencies: list[float] = []

    async def one() -> bool:
        sent_at = time.time()
        body = {"message": {"body": f"{tag} {sent_at:.6f} {FILLER}"}}
        try:
            async with session.post(side.post_url, json=body, headers=side.headers) as response:
                await response.read()
        except (aiohttp.ClientError, TimeoutError):
            return False
        latencies.append((time.time() - sent_at) * 1000.0)
        return response.status == 201

    first = time.time()
    start = time.monotonic()
    tasks = []
    for index in range(count):
        await asyncio.sleep(max(0.0, start + index / rate - time.monotonic()))
        tasks.append(asyncio.create_task(one()))
    accepted = sum(await asyncio.gather(*tasks))
    return accepted, first, sorted(latencies)


async def _round(
    pipes: Sequence[Connection],
    session: aiohttp.ClientSession,
    side: Side,
    tag: str,
    rate: float,
    count: int,
) -> tuple[int, float, list[float], list[RoundResult]]:
    seconds = count / rate + DRAIN
    for conn in pipes:
        conn.send(("round", tag, count, seconds))
    for conn in pipes:
        await receive(conn, 30)
    accepted, first, latencies = await _send(session, side, tag, rate, count)
    results = [await receive(conn, seconds + 30) for conn in pipes]
    return accepted, first, latencies, results


async def measure(side: Side, sockets: int, rates: Sequence[float], seconds: float) -> list[Row]:
    """Opens the sockets in the client processes, then runs one round per rate."""
    urls = side.socket_urls(sockets)
    before = [_established(port) for port in side.replica_ports]
    shares = [(urls[worker::CLIENT_PROCESSES],) for worker in range(CLIENT_PROCESSES)]
    rows: list[Row] = []
    async with client_processes(
        side.name, client_process, shares, sockets=sockets, open_within=OPEN_WITHIN, join_within=30
    ) as clients:
        pipes, opened, open_seconds = clients.pipes, clients.opened, clients.open_seconds
        if opened == 0:
            return rows
        spread = "/".join(
            str(_established(port) - base)
            for port, base in zip(side.replica_ports, before, strict=True)
        )
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            # A socket has the warm-up messages once it has what was queued before them
            # (chat tells a user's group chats that the user came online).
            await _round(pipes, session, side, "warm-up", rates[0], WARM_UP)
            ready_seconds = time.monotonic() - clients.started
            for number, rate in enumerate(rates):
                count = min(MAX_ROUND, round(rate * seconds))
                accepted, first, latencies, results = await _round(
                    pipes, session, side, f"r{number}", rate, count
                )
                delays = sorted(d for result in results for d in result.delays_ms)
                last = max(result.last_receipt for result in results)
                codes = Counter(code for result in results for code in result.close_codes)
                rows.append(
                    Row(
                        side=side.name,
                        sockets=sockets,
                        opened=opened,
                        rate=rate,
                        sent=accepted,
                        delivered=len(delays),
                        deliveries_per_second=len(delays) / max(1e-9, last - first),
                        p50_ms=_percentile(delays, 0.5),
                        p99_ms=_percentile(delays, 0.99),
                        post_p50_ms=_percentile(latencies, 0.5),
                        frame_bytes=max(result.frame_bytes for result in results),
                        close_codes=dict(codes),
                        open_seconds=open_seconds,
                        ready_seconds=ready_seconds,
                        spread=spread,
                    )
                )
                print(_line(rows[-1]), flush=True)
    return rows


HEADER = (
    f"{'side':9} {'sockets':>9} {'dev':>3} {'rate':>6} {'sent':>4} {'delivered':>15} "
    f"{'deliv/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'post ms':>7} {'bytes':>5} {'drop':>4} "
    f"{'open s':>6} {'ready s':>7}  per replica"
)


def _line(row: Row) -> str:
    line = (
        f"{row.side:9} {row.opened:4d}/{row.sockets:<4d} {row.sockets // USERS:3d} "
        f"{row.rate:4.0f}/s {row.sent:4d} {row.delivered:7d}/{row.sent * row.opened:<7d} "
        f"{row.deliveries_per_second:7.0f} {row.p50_ms:7.1f} {row.p99_ms:7.1f} "
        f"{row.post_p50_ms:7.1f} {row.frame_bytes:5d} {row.dropped:4d} {row.open_seconds:6.1f} "
        f"{row.ready_seconds:7.1f}  {row.spread}"
    )
    if row.close_codes:
        line += f"\n{'':9} dropped sockets by why they ended: {row.close_codes}"
    return line


# Users and the chat, through the public API.


async def _call(
    session: aiohttp.ClientSession,
    method: str,
    path: str,
    token: str | None = None,
    expect: tuple[int, ...] = (200, 201),
    **kwargs: Any,
) -> Any:
    headers = {"Authorization": f"Token {token}"} if token else {}
    async with session.request(method, path, headers=headers, **kwargs) as response:
        if response.status not in expect:
            raise RuntimeError(f"{method} {path}: {response.status} {await response.text()}")
        return await response.json()


async def _all(calls: Sequence[Callable[[], Awaitable[Any]]]) -> list[Any]:
    gate = asyncio.Semaphore(SETUP_CONCURRENCY)

    async def one(call: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await call()

    return await asyncio.gather(*(one(call) for call in calls))


async def prepare_chat(gateway: str) -> tuple[list[str], int]:
    """USERS users, all members of one public group chat; returns their tokens (the first
    is the owner's, who sends) and the chat's id."""
    async with aiohttp.ClientSession(base_url=gateway) as session:

        async def register(index: int) -> str:
            name = f"chatbench{index:03d}"
            user = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
            body = await _call(session, "POST", "/api/users", expect=(201,), json={"user": user})
            return str(body["user"]["token"])

        tokens = await _all([partial(register, index) for index in range(USERS)])
        # Once per user: chat_service then knows the user, whether or not the registration
        # event has arrived yet.
        await _all([partial(_call, session, "GET", "/api/chats", token) for token in tokens])
        owner = tokens[0]
        group = {"chat": {"type": "group", "title": "bench", "private": False}}
        chat = await _call(session, "POST", "/api/chats", owner, expect=(201,), json=group)
        chat_id = int(chat["chat"]["id"])
        invite = await _call(session, "POST", f"/api/chats/{chat_id}/invites", owner, json={})
        code = invite["invite"]["code"]
        join = f"/api/chats/join/{code}"
        joins = [partial(_call, session, "POST", join, t, expect=(200,)) for t in tokens[1:]]
        await _all(joins)
    return tokens, chat_id


# The run.


async def run(
    gateway_port: int, chat_ports: Sequence[int], yardstick_port: int, seconds: float
) -> list[Row]:
    gateway = f"http://127.0.0.1:{gateway_port}"
    print(f"registering {USERS} users, members of one group chat...", flush=True)
    tokens, chat_id = await prepare_chat(gateway)
    chat_ws = f"ws://127.0.0.1:{gateway_port}/api/chat/ws?token="
    sides = [
        Side(
            "yardstick",
            lambda n: [f"ws://127.0.0.1:{yardstick_port}/ws"] * n,
            f"http://127.0.0.1:{yardstick_port}/messages",
            {},
        ),
        Side(
            "chat",
            lambda n: [chat_ws + tokens[index % USERS] for index in range(n)],
            f"{gateway}/api/chats/{chat_id}/messages",
            {"Authorization": f"Token {tokens[0]}"},
            chat_ports,
        ),
    ]
    print(HEADER, flush=True)
    rows: list[Row] = []
    for sockets in SIZES:
        rates = (RATE, *HIGHER_RATES) if sockets == SIZES[-1] else (RATE,)
        for side in sides:
            rows += await measure(side, sockets, rates, seconds)
    return rows


def verdict(rows: Sequence[Row]) -> str:
    largest = SIZES[-1]
    by_key = {(row.side, row.sockets, row.rate): row for row in rows}
    chat, yardstick = by_key.get(("chat", largest, RATE)), by_key.get(("yardstick", largest, RATE))
    if chat is None or yardstick is None:
        return f"{largest} sockets: nothing measured on one side; targets MISSED"
    share = chat.deliveries_per_second / yardstick.deliveries_per_second
    met = (
        chat.p99_ms < TARGET_P99_MS
        and share >= TARGET_SHARE
        and chat.opened == largest
        and chat.dropped == 0
    )
    best = {
        side: max(r.deliveries_per_second for r in rows if r.side == side and r.sockets == largest)
        for side in ("chat", "yardstick")
    }
    return "\n".join(
        [
            f"{largest} sockets @ {RATE:.0f}/s: chat p99 {chat.p99_ms:.1f} ms "
            f"(target < {TARGET_P99_MS:.0f}), deliveries/s {share:.2f} of the yardstick's "
            f"(target >= {TARGET_SHARE}), {chat.opened} of {largest} sockets open, "
            f"{chat.dropped} dropped (target: all open, none dropped): "
            + ("targets met" if met else "targets MISSED"),
            f"{largest} sockets, best deliveries/s over the rates: chat {best['chat']:.0f}, "
            f"yardstick {best['yardstick']:.0f} ({best['chat'] / best['yardstick']:.2f})",
        ]
    )


def main() -> None:
    args = sys.argv[1:]
    if "--idle" in args:
        # Another benchmark with its own command (bench/chat_idle.py), which uses this one's
        # rounds: run as a process of its own rather than imported back.
        os.execv(sys.executable, [sys.executable, "-m", "bench.chat_idle", *args])  # noqa: S606
    seconds = float(args.pop(0)) if args and "=" not in args[0] else 5.0
    extra = dict(arg.split("=", 1) for arg in args)
    with bench_environment() as bench:
        ports = bench.start_replicated_stack({"chat": 2}, **{**STACK_ENV, **extra})
        chat_ports = [ports["chat"] + n * stack.REPLICA_PORT_STEP for n in range(2)]
        yardstick_port = free_port()
        health = f"http://127.0.0.1:{yardstick_port}/health"
        bench.start("bench.broadcast", str(yardstick_port), wait=health)
        rows = asyncio.run(run(ports["gateway"], chat_ports, yardstick_port, seconds))
    print(
        f"\n{USERS} users in one group chat with 'dev' devices (sockets) each; 2 chat replicas "
        f"behind the gateway; {CLIENT_PROCESSES} client processes; {seconds:.0f} s rounds of "
        f"at most {MAX_ROUND} messages; 'drop': sockets lost so far; 'post ms': median answer "
        "to the send" + (f"; stack settings {extra}" if extra else "")
    )
    print(verdict(rows))


if __name__ == "__main__":
    main()
