"""Many idle sockets: `python -m bench.chat --idle N [--hot-seconds 60] [--idle-seconds 60]`
(or `python -m bench.chat_idle --idle N ...`).

N websockets open through two gateways over two chat replicas: the hot chat's 1,000 (100
users with ten devices each, as in `bench.chat`) and N - 1,000 idle ones (users with
IDLE_DEVICES devices each, in group chats of GROUP users; every user is in the general
chat). With all of them open: IDLE_SECONDS with no message (CPU per idle socket: heartbeats
every CHAT_WS_HEARTBEAT, presence renewed every CHAT_PRESENCE_TTL / 3), then the hot chat's
sockets receive 20 messages/s for at least HOT_SECONDS (p50 and p99 of the delay from send to
receipt). Resident memory of each gateway and replica from /proc, at rest (users registered,
no socket open) and with every socket open, per open socket; descriptors per process;
sockets dropped over the whole run. The bare yardstick (`bench/broadcast.py`) gets the same
clients: it holds the same idle sockets (`?quiet=1`: never broadcast to) and broadcasts to
the 1,000 hot ones.

One process may hold at most 20,000 descriptors here, and a tunnelled websocket costs its
gateway two: the clients spread over several processes (SOCKETS_PER_CLIENT each) and the
sockets over two gateways.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from multiprocessing.connection import Connection
from pathlib import Path

import aiohttp

from bench.chat import (
    RATE,
    USERS,
    Side,
    _all,
    _call,
    _percentile,
    _round,
    prepare_chat,
)
from bench.chat_clients import client_process
from bench.harness import client_processes, cpu_seconds, machine_cpu_seconds, receive

HOT = 1000  # the hot chat's sockets: USERS users with ten devices each
IDLE_DEVICES = 5  # devices (sockets) per idle user
GROUP = 20  # idle users per group chat
SOCKETS_PER_CLIENT = 2500  # per client process
OPEN_WITHIN = 600.0  # seconds for a client process to open its sockets
MAX_ROUND = 250  # messages per round, as in bench.chat
SETTLE = 5.0  # seconds after the sockets opened before memory is read
TARGET_P99_MS = 100.0
TARGET_MEMORY_RATIO = 2.0
TARGET_IDLE_CORE = 0.05  # of one core, for every idle socket together


@dataclass
class Usage:
    """One process: resident memory (kB) at rest and with the sockets open, descriptors."""

    name: str
    pid: int
    rest_kb: int = 0
    open_kb: int = 0
    rest_fds: int = 0
    open_fds: int = 0
    idle_cpu: float = 0.0  # seconds over the idle window
    hot_cpu: float = 0.0  # seconds over the hot rounds
    hot_wait: float = 0.0  # seconds runnable but waiting for a core, over the hot rounds


@dataclass
class IdleResult:
    side: str
    sockets: int
    opened: int
    usages: list[Usage]
    idle_seconds: float
    hot_sent: int
    hot_delivered: int
    hot_seconds: float
    p50_ms: float
    p99_ms: float
    open_seconds: float
    still_open: int
    close_codes: dict[str, int]
    machine_cores: float  # cores the whole machine kept busy during the hot rounds
    clients: list[Usage]  # the client processes: CPU and wait for a core, hot rounds only

    @property
    def dropped(self) -> int:
        return sum(self.close_codes.values())

    @property
    def memory_per_socket_kb(self) -> float:
        grown = sum(u.open_kb - u.rest_kb for u in self.usages)
        return grown / max(1, self.opened)

    @property
    def idle_core(self) -> float:
        """Share of one core that every process measured spent while the sockets idled."""
        return sum(u.idle_cpu for u in self.usages) / max(1e-9, self.idle_seconds)


def resident_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def run_delay_seconds(pid: int) -> float:
    """Time the process's threads spent runnable but waiting for a core (the second field of
    /proc/<pid>/task/<tid>/schedstat): a process short of CPU on a busy machine shows a low
    CPU figure and a high wait, one with nothing to do shows neither."""
    total = 0
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError, IndexError, ValueError):
                total += int(Path(f"/proc/{pid}/task/{task}/schedstat").read_text().split()[1])
    return total / 1e9


def _record_hot(usages: Sequence[Usage], before: dict[int, tuple[float, float]]) -> None:
    for usage in usages:
        cpu, wait = before[usage.pid]
        usage.hot_cpu = cpu_seconds(usage.pid) - cpu
        usage.hot_wait = run_delay_seconds(usage.pid) - wait


def descriptors(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


async def prepare_idle(gateway: str, users: int) -> list[str]:
    """`users` users in group chats of GROUP (and the general chat); returns their tokens."""
    async with aiohttp.ClientSession(base_url=gateway) as session:

        async def register(index: int) -> str:
            name = f"idle{index:05d}"
            user = {"username": name, "email": f"{name}@example.com", "password": "idle-bench-1"}
            body = await _call(session, "POST", "/api/users", expect=(201,), json={"user": user})
            token = str(body["user"]["token"])
            await _call(session, "GET", "/api/chats", token)  # chat_service knows them now
            return token

        tokens = await _all([partial(register, index) for index in range(users)])

        async def group(members: Sequence[str]) -> None:
            owner = members[0]
            body = {"chat": {"type": "group", "title": "idle", "private": False}}
            chat = await _call(session, "POST", "/api/chats", owner, expect=(201,), json=body)
            chat_id = int(chat["chat"]["id"])
            invite = await _call(session, "POST", f"/api/chats/{chat_id}/invites", owner, json={})
            join = f"/api/chats/join/{invite['invite']['code']}"
            for token in members[1:]:
                await _call(session, "POST", join, token, expect=(200,))

        await _all([partial(group, tokens[i : i + GROUP]) for i in range(0, len(tokens), GROUP)])
    return tokens


async def _counts(pipes: Sequence[Connection]) -> tuple[int, Counter[str]]:
    for conn in pipes:
        conn.send(("count",))
    still, codes = 0, Counter[str]()
    for conn in pipes:
        live, close_codes = await receive(conn, 30)
        still += live
        codes.update(close_codes)
    return still, codes


async def measure_side(
    side: Side,
    hot_urls: list[str],
    idle_urls: list[str],
    processes: dict[str, int],
    idle_seconds: float,
    hot_seconds: float,
) -> IdleResult:
    usages = [Usage(name, pid) for name, pid in processes.items()]
    for usage in usages:
        usage.rest_kb, usage.rest_fds = resident_kb(usage.pid), descriptors(usage.pid)
    total = len(hot_urls) + len(idle_urls)
    workers = max(2, math.ceil(total / SOCKETS_PER_CLIENT))
    shares = [
        (hot_urls[worker::workers], idle_urls[worker::workers], OPEN_WITHIN)
        for worker in range(workers)
    ]
    async with client_processes(
        side.name, client_process, shares, sockets=total, open_within=OPEN_WITHIN, join_within=60
    ) as running:
        pipes, opened, open_seconds = running.pipes, running.opened, running.open_seconds
        print(f"{side.name}: {opened} sockets open in {open_seconds:.0f} s", flush=True)
        await asyncio.sleep(SETTLE)
        for usage in usages:
            usage.open_kb, usage.open_fds = resident_kb(usage.pid), descriptors(usage.pid)
        # Idle: nothing sent; what the processes spend is heartbeats and presence.
        before = {u.pid: cpu_seconds(u.pid) for u in usages}
        idle_start = time.monotonic()
        await asyncio.sleep(idle_seconds)
        idle_elapsed = time.monotonic() - idle_start
        for usage in usages:
            usage.idle_cpu = cpu_seconds(usage.pid) - before[usage.pid]
        print(f"{side.name}: idle {idle_elapsed:.0f} s measured; the hot chat now", flush=True)
        delays: list[float] = []
        sent = 0
        hot_start = time.monotonic()
        machine_before = machine_cpu_seconds()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            await _round(pipes, session, side, "warm-up", RATE, 10)
            hot_start = time.monotonic()
            machine_before = machine_cpu_seconds()
            clients = [
                Usage(f"clients-{n + 1}", process.pid or 0)
                for n, process in enumerate(running.processes)
            ]
            hot_before = {u.pid: (cpu_seconds(u.pid), run_delay_seconds(u.pid)) for u in usages}
            hot_before |= {u.pid: (cpu_seconds(u.pid), run_delay_seconds(u.pid)) for u in clients}
            for number in range(math.ceil(hot_seconds * RATE / MAX_ROUND)):
                accepted, _, _, results = await _round(
                    pipes, session, side, f"h{number}", RATE, MAX_ROUND
                )
                sent += accepted
                delays += [d for result in results for d in result.delays_ms]
        hot_elapsed = time.monotonic() - hot_start
        machine = (machine_cpu_seconds() - machine_before) / hot_elapsed
        _record_hot([*usages, *clients], hot_before)
        still, codes = await _counts(pipes)
    delays.sort()
    return IdleResult(
        side=side.name,
        sockets=total,
        opened=opened,
        usages=usages,
        idle_seconds=idle_elapsed,
        hot_sent=sent,
        hot_delivered=len(delays),
        hot_seconds=hot_elapsed,
        p50_ms=_percentile(delays, 0.5),
        p99_ms=_percentile(delays, 0.99),
        open_seconds=open_seconds,
        still_open=still,
        close_codes=dict(codes),
        machine_cores=machine,
        clients=clients,
    )


def report(result: IdleResult, hot: int) -> str:
    idle = max(1, result.opened - hot)
    lines = [
        f"{result.side}: {result.opened}/{result.sockets} sockets open (in "
        f"{result.open_seconds:.0f} s), {result.still_open} still open at the end, "
        f"{result.dropped} dropped {result.close_codes or ''}",
        f"  hot chat: {result.hot_sent} messages at {RATE:.0f}/s over {result.hot_seconds:.0f} s, "
        f"{result.hot_delivered}/{result.hot_sent * hot} deliveries, p50 {result.p50_ms:.1f} ms, "
        f"p99 {result.p99_ms:.1f} ms",
        f"  memory: {result.memory_per_socket_kb:.1f} kB per open socket; idle: "
        f"{result.idle_core * 100:.2f} % of a core for {idle} idle sockets "
        f"({sum(u.idle_cpu for u in result.usages) / result.idle_seconds / idle * 1e6:.1f} "
        "us of CPU per idle socket per second)",
    ]
    for u in result.usages:
        lines.append(
            f"  {u.name:10} rest {u.rest_kb / 1024:7.1f} MB  open {u.open_kb / 1024:7.1f} MB  "
            f"(+{(u.open_kb - u.rest_kb) / 1024:6.1f})  fds {u.rest_fds:5d} -> {u.open_fds:5d}  "
            f"idle CPU {u.idle_cpu / result.idle_seconds * 100:5.2f} %  hot CPU "
            f"{u.hot_cpu / result.hot_seconds * 100:5.1f} %, waited for a core "
            f"{u.hot_wait / result.hot_seconds * 100:5.1f} %"
        )
    for u in result.clients:
        lines.append(
            f"  {u.name:10} hot CPU {u.hot_cpu / result.hot_seconds * 100:5.1f} %, waited for a "
            f"core {u.hot_wait / result.hot_seconds * 100:5.1f} %"
        )
    lines.append(
        f"  the whole machine during the hot rounds: {result.machine_cores:.2f} cores busy; "
        + cpu_per_delivery(result)
    )
    return "\n".join(lines)


def cpu_per_delivery(result: IdleResult) -> str:
    """CPU spent per frame received during the hot rounds: what the path costs, which a
    busy machine changes far less than it changes the delays."""
    served = sum(u.hot_cpu for u in result.usages) / max(1, result.hot_delivered) * 1e6
    clients = sum(u.hot_cpu for u in result.clients) / max(1, result.hot_delivered) * 1e6
    return f"CPU per delivery {served:.0f} us (the clients' {clients:.0f} us)"


def verdict(chat: IdleResult, yardstick: IdleResult, target: int) -> str:
    ratio = chat.memory_per_socket_kb / max(1e-9, yardstick.memory_per_socket_kb)
    met = (
        chat.opened >= target
        and chat.p99_ms < TARGET_P99_MS
        and chat.dropped == 0
        and ratio <= TARGET_MEMORY_RATIO
        and chat.idle_core < TARGET_IDLE_CORE
    )
    return (
        f"{chat.opened} of {target} sockets open: hot p99 {chat.p99_ms:.1f} ms (target < "
        f"{TARGET_P99_MS:.0f}), {chat.dropped} dropped (target 0), memory per socket "
        f"{chat.memory_per_socket_kb:.1f} kB = {ratio:.2f}x the yardstick's "
        f"{yardstick.memory_per_socket_kb:.1f} kB (target <= {TARGET_MEMORY_RATIO}), idle CPU "
        f"{chat.idle_core * 100:.2f} % of a core (target < {TARGET_IDLE_CORE * 100:.0f} %): "
        + ("targets met" if met else "targets MISSED")
    )


def run_idle(
    sockets: int,
    idle_seconds: float,
    hot_seconds: float,
    extra: dict[str, str],
    gateway_count: int = 2,
) -> None:
    from bench.chat import STACK_ENV
    from bench.harness import bench_environment
    from devstack import stack
    from devstack.embedded import free_port

    idle_users = max(1, math.ceil(max(0, sockets - HOT) / IDLE_DEVICES))
    with bench_environment() as bench:
        env = {**STACK_ENV, "DB_POOL_MAX": "20", **extra}
        ports = bench.start_gateways_and_replicas({"chat": 2}, gateway_count, env)
        gateways = [ports["gateway"] + n * stack.REPLICA_PORT_STEP for n in range(gateway_count)]
        chat_ports = [ports["chat"] + n * stack.REPLICA_PORT_STEP for n in range(2)]
        watched: dict[str, int] = {}
        for process in bench.processes:
            args = process.args if isinstance(process.args, list) else []
            port = process_port(process.pid)
            if "gateway" in args:
                watched[f"gateway-{gateways.index(port) + 1}"] = process.pid
            elif "chat_service" in args:
                watched[f"chat-{chat_ports.index(port) + 1}"] = process.pid
        base = f"http://127.0.0.1:{gateways[0]}"
        print(f"registering {USERS} hot users and {idle_users} idle users...", flush=True)
        started = time.monotonic()
        hot_tokens, chat_id = asyncio.run(prepare_chat(base))
        idle_tokens = asyncio.run(prepare_idle(base, idle_users))
        print(f"users and chats ready in {time.monotonic() - started:.0f} s", flush=True)

        def ws(index: int, token: str) -> str:
            return f"ws://127.0.0.1:{gateways[index % gateway_count]}/api/chat/ws?token={token}"

        hot_urls = [ws(i, hot_tokens[i % USERS]) for i in range(HOT)]
        idle_count = sockets - HOT
        idle_urls = [ws(i, idle_tokens[i % len(idle_tokens)]) for i in range(idle_count)]
        chat_side = Side(
            "chat",
            lambda n: [],
            f"{base}/api/chats/{chat_id}/messages",
            {"Authorization": f"Token {hot_tokens[0]}"},
            chat_ports,
        )
        chat = asyncio.run(
            measure_side(chat_side, hot_urls, idle_urls, watched, idle_seconds, hot_seconds)
        )
        print(report(chat, HOT), flush=True)
        yardstick_port = free_port()
        health = f"http://127.0.0.1:{yardstick_port}/health"
        yardstick_process = bench.start("bench.broadcast", str(yardstick_port), wait=health)
        yard = f"ws://127.0.0.1:{yardstick_port}/ws"
        yardstick_side = Side(
            "yardstick", lambda n: [], f"http://127.0.0.1:{yardstick_port}/messages", {}
        )
        yardstick = asyncio.run(
            measure_side(
                yardstick_side,
                [yard] * HOT,
                [f"{yard}?quiet=1"] * idle_count,
                {"yardstick": yardstick_process.pid},
                idle_seconds,
                hot_seconds,
            )
        )
        print(report(yardstick, HOT), flush=True)
    print(
        f"\n{sockets} sockets through {gateway_count} gateways over 2 chat replicas: {HOT} in "
        f"the hot chat ({USERS} users x 10 devices), {idle_count} idle ({idle_users} users x "
        f"{IDLE_DEVICES} devices, group chats of {GROUP}, all in the general chat); "
        f"{max(2, math.ceil(sockets / SOCKETS_PER_CLIENT))} client processes; idle window "
        f"{idle_seconds:.0f} s, hot {hot_seconds:.0f} s at {RATE:.0f}/s"
        + (f"; stack settings {extra}" if extra else "")
    )
    print(verdict(chat, yardstick, sockets))


def process_port(pid: int) -> int:
    """The port a process listens on (its first listening TCP socket), from /proc."""
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                parts = line.split()
                if parts[3] == "0A" and parts[9] in inodes:
                    return int(parts[1].rsplit(":", 1)[1], 16)
    return 0


def main() -> None:
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m bench.chat --idle")
    parser.add_argument("--idle", type=int, required=True, help="sockets open in all")
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--hot-seconds", type=float, default=60.0)
    parser.add_argument("--gateways", type=int, default=2, help="gateways the sockets spread over")
    parser.add_argument("settings", nargs="*", help="NAME=VALUE for the stack")
    parsed = parser.parse_args(sys.argv[1:])
    extra = dict(arg.split("=", 1) for arg in parsed.settings)
    run_idle(parsed.idle, parsed.idle_seconds, parsed.hot_seconds, extra, parsed.gateways)


if __name__ == "__main__":
    main()
