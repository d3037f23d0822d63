"""A soak: the mixed load with websocket churn for `--minutes`, and whether memory settles.

`python -m bench.soak [--minutes 60] [--users 16] [--churn 20] [--sample 30] [--rest 60]
[--tracemalloc]` starts the stack with two chat replicas, seeds a scaled standard data set
and puts every seeded user in one group chat, then runs together for `--minutes`:

- the mix of `bench.mixed` (90 % reads, 10 % writes) with `--users` signed-in users;
- `--churn` loops that each open a chat websocket through the gateway as a random user, read
  it for 1 to 8 s and close it;
- one message a second in the group chat, so that the replicas deliver to the open sockets.

Every `--sample` seconds it reads each process's private resident memory (RssAnon), resident
set (VmRSS) and open descriptors from /proc. It reports, per process: the figures at rest
before the load, after the first minute of load, at the end, and after `--rest` seconds of
rest; the growth of private memory per minute after the first minute (least squares over the
samples); and whether descriptors came back to their count at rest. After the rest every
process runs a full collection on SIGUSR2 (shared/service/diagnostics.py) and says how many
unreachable objects it found: the "full gc" column is private memory after it.

`--tracemalloc`: the chat replicas trace their allocations (PYTHONTRACEMALLOC=12, which slows
them) and write a snapshot on SIGUSR2 (shared/service/diagnostics.py), taken after the first
minute and after the rest; the report lists the allocation sites that grew most between the
two, per replica.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import time
import tracemalloc
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import uvloop

from bench.chat import _all, _call
from bench.chat_idle import descriptors, process_port
from bench.harness import bench_environment
from bench.mixed import STACK_ENV, Load, Tally, summary
from bench.seed import Seeded, seed
from devstack import stack

MESSAGE_RATE = 1.0  # chat messages a second


@dataclass
class Sample:
    at: float  # minutes since the load started (negative: before)
    anon_kb: int
    rss_kb: int
    fds: int


@dataclass
class Watched:
    name: str
    pid: int
    samples: list[Sample] = field(default_factory=list)

    def take(self, at: float) -> None:
        anon = rss = 0
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("RssAnon:"):
                    anon = int(line.split()[1])
                elif line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
        self.samples.append(Sample(at, anon, rss, descriptors(self.pid)))


def slope_mb_per_minute(samples: list[Sample]) -> float:
    """Least-squares growth of private memory, MB a minute."""
    if len(samples) < 2:
        return float("nan")
    xs = [s.at for s in samples]
    ys = [s.anon_kb / 1024 for s in samples]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return float("nan")
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


@dataclass
class Churn:
    opened: int = 0
    failed: int = 0
    frames: int = 0


async def churn_loop(
    session: aiohttp.ClientSession, ws_base: str, tokens: list[str], until: float, churn: Churn
) -> None:
    rng = random.Random()
    while time.monotonic() < until:
        try:
            async with session.ws_connect(
                ws_base + rng.choice(tokens), timeout=aiohttp.ClientWSTimeout(ws_close=5.0)
            ) as ws:
                churn.opened += 1
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(rng.uniform(1.0, 8.0)):
                        async for _ in ws:
                            churn.frames += 1
        except (aiohttp.ClientError, TimeoutError, OSError):
            churn.failed += 1
            await asyncio.sleep(0.5)


async def messages_loop(
    session: aiohttp.ClientSession, url: str, token: str, until: float
) -> tuple[int, int]:
    sent = failed = 0
    headers = {"Authorization": f"Token {token}"}
    while time.monotonic() < until:
        body = {"message": {"body": f"soak message {sent}"}}
        try:
            async with session.post(url, json=body, headers=headers) as response:
                await response.read()
                sent, failed = (sent + 1, failed) if response.status == 201 else (sent, failed + 1)
        except (aiohttp.ClientError, TimeoutError):
            failed += 1
        await asyncio.sleep(1.0 / MESSAGE_RATE)
    return sent, failed


async def group_chat(gateway: str, tokens: list[str]) -> int:
    """One public group chat with every seeded user; its id."""
    async with aiohttp.ClientSession(base_url=gateway) as session:
        await _all([partial(_call, session, "GET", "/api/chats", t) for t in tokens])
        body = {"chat": {"type": "group", "title": "soak", "private": False}}
        chat = await _call(session, "POST", "/api/chats", tokens[0], expect=(201,), json=body)
        chat_id = int(chat["chat"]["id"])
        invite = await _call(session, "POST", f"/api/chats/{chat_id}/invites", tokens[0], json={})
        join = f"/api/chats/join/{invite['invite']['code']}"
        await _all([partial(_call, session, "POST", join, t, expect=(200,)) for t in tokens[1:]])
    return chat_id


def collect(watched: list[Watched], logs: Path, label: str) -> dict[str, dict[str, Any]]:
    """SIGUSR2 to every process (shared/service/diagnostics.py): a full collection, and a
    tracemalloc snapshot where traced; returns what each logged."""
    found: dict[str, dict[str, Any]] = {}
    for process in watched:
        log_file = logs / f"{process.name}.log"
        offset = log_file.stat().st_size if log_file.exists() else 0
        os.kill(process.pid, signal.SIGUSR2)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.name not in found:
            time.sleep(0.5)
            with contextlib.suppress(OSError), log_file.open("rb") as lines:
                lines.seek(offset)
                for line in lines:
                    with contextlib.suppress(ValueError):
                        record = json.loads(line)
                        if record.get("msg") == "full collection on request":
                            found[process.name] = record
    for name, record in found.items():
        print(
            f"{label}: {name} full collection found {record['unreachable']} unreachable "
            f"objects; private memory {record['private_kb_before'] / 1024:.1f} -> "
            f"{record['private_kb_after'] / 1024:.1f} MB; {record['tracked_objects']} objects "
            "tracked",
            flush=True,
        )
    return found


def compare(
    first: dict[str, dict[str, Any]], last: dict[str, dict[str, Any]], top: int = 15
) -> str:
    lines = []
    for name, record in sorted(last.items()):
        if "snapshot" not in record or "snapshot" not in first.get(name, {}):
            continue
        old = tracemalloc.Snapshot.load(first[name]["snapshot"])
        new = tracemalloc.Snapshot.load(record["snapshot"])
        keep = [tracemalloc.Filter(False, tracemalloc.__file__)]
        stats = new.filter_traces(keep).compare_to(old.filter_traces(keep), "traceback")
        grown = sum(s.size_diff for s in stats)
        lines.append(f"{name}: traced memory {grown / 1024:+.0f} kB between the snapshots")
        for stat in stats[:top]:
            frames = [
                f"{f.filename.split('site-packages/')[-1]}:{f.lineno}" for f in stat.traceback
            ]
            lines.append(
                f"  {stat.size_diff / 1024:+8.1f} kB {stat.count_diff:+7d} blocks  "
                + " <- ".join(frames[-1:-6:-1])
            )
    return "\n".join(lines)


async def soak(
    gateway: str,
    seeded: Seeded,
    chat_id: int,
    args: argparse.Namespace,
    watched: list[Watched],
    logs: Path,
    traced: bool,
) -> None:
    load = Load(gateway, seeded)
    tokens = list(seeded.tokens.values())
    for process in watched:
        process.take(-0.01)
    started = time.monotonic()
    until = started + args.minutes * 60
    churn = Churn()
    first_snapshots: dict[str, dict[str, Any]] = {}
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=30), connector=connector
    ) as session:
        ws_base = gateway.replace("http://", "ws://") + "/api/chat/ws?token="
        churners = [
            asyncio.create_task(churn_loop(session, ws_base, tokens, until, churn))
            for _ in range(args.churn)
        ]
        sender = asyncio.create_task(
            messages_loop(session, f"{gateway}/api/chats/{chat_id}/messages", tokens[0], until)
        )
        tally = Tally()
        next_sample = started + args.sample
        minute = 0
        while time.monotonic() < until:
            await load.run(
                session, args.users, min(args.sample, until - time.monotonic()), True, tally
            )
            now = time.monotonic()
            if now >= next_sample or now >= until:
                at = (now - started) / 60
                for process in watched:
                    process.take(at)
                next_sample += args.sample
            if traced and not first_snapshots and now - started >= 60:
                chats = [p for p in watched if p.name.startswith("chat")]
                first_snapshots = await asyncio.to_thread(
                    collect, chats, logs, "after the first minute"
                )
            if int((now - started) // 60) > minute:
                minute = int((now - started) // 60)
                total = sum(len(v) for v in tally.latencies.values())
                print(
                    f"minute {minute}: {total} requests ({total / tally.seconds:.0f}/s), "
                    f"errors {sum(tally.errors.values())}, sockets opened {churn.opened} "
                    f"(failed {churn.failed}); "
                    + ", ".join(f"{p.name} {p.samples[-1].anon_kb / 1024:.1f} MB" for p in watched),
                    flush=True,
                )
        await asyncio.gather(*churners)
        sent, failed = await sender
    print(summary("soak", tally), flush=True)
    print(
        f"chat: {churn.opened} sockets opened and closed ({churn.failed} failed), "
        f"{churn.frames} frames received; {sent} messages sent ({failed} failed)",
        flush=True,
    )
    await asyncio.sleep(args.rest)
    for process in watched:
        process.take((time.monotonic() - started) / 60)
    # Then a full collection everywhere: what it returns was garbage waiting for it.
    last = await asyncio.to_thread(collect, watched, logs, "after the rest")
    for process in watched:
        process.take((time.monotonic() - started) / 60)
    if traced:
        print(compare(first_snapshots, last), flush=True)


def report(watched: list[Watched], minutes: float) -> str:
    lines = [
        f"{'process':12} {'private MB: rest':>16} {'1 min':>7} {'end':>7} {'rested':>7} "
        f"{'full gc':>7} {'MB/min':>7}  {'RSS MB rest/end':>15}  {'fds rest/end/rested':>19}"
    ]
    for process in watched:
        rest, *loaded, rested, collected = process.samples
        after_first = [s for s in loaded if s.at >= min(1.0, minutes / 2)] or loaded
        end = loaded[-1] if loaded else rest
        first = after_first[0] if after_first else rest
        lines.append(
            f"{process.name:12} {rest.anon_kb / 1024:16.1f} {first.anon_kb / 1024:7.1f} "
            f"{end.anon_kb / 1024:7.1f} {rested.anon_kb / 1024:7.1f} "
            f"{collected.anon_kb / 1024:7.1f} {slope_mb_per_minute(after_first):+7.3f}  "
            f"{rest.rss_kb / 1024:7.1f}/{end.rss_kb / 1024:<7.1f}  "
            f"{rest.fds:6d}/{end.fds:6d}/{rested.fds:6d}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.soak")
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--churn", type=int, default=20)
    parser.add_argument("--sample", type=float, default=30.0)
    parser.add_argument("--rest", type=float, default=60.0)
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument(
        "--chat1",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting of the first chat replica only, to compare the two side by side",
    )
    args = parser.parse_args()
    with bench_environment() as bench:
        snapshots_dir = bench.work_dir / "tracemalloc" if args.tracemalloc else None
        chat_env = (
            {"PYTHONTRACEMALLOC": "12", "TRACEMALLOC_DIR": str(snapshots_dir)}
            if snapshots_dir
            else {}
        )
        first_chat = dict(setting.split("=", 1) for setting in args.chat1)
        ports = bench.start_gateways_and_replicas(
            {"chat": 2}, 1, STACK_ENV, {"chat_service": chat_env, "chat-1": first_chat}
        )
        gateway = f"http://127.0.0.1:{ports['gateway']}"
        watched = []
        for process in bench.processes:
            args_list = process.args if isinstance(process.args, list) else []
            module = next((a for a in args_list if a.endswith("_service") or a == "gateway"), "")
            port = process_port(process.pid)
            base = ports["gateway"] if module == "gateway" else ports[module.split("_")[0]]
            index = (port - base) // stack.REPLICA_PORT_STEP + 1
            watched.append(Watched(f"{module.removesuffix('_service')}-{index}", process.pid))
        print(f"seeding {args.articles} articles...", flush=True)
        seeded = asyncio.run(seed(gateway, articles=args.articles))
        chat_id = asyncio.run(group_chat(gateway, list(seeded.tokens.values())))
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(
                soak(gateway, seeded, chat_id, args, watched, bench.work_dir, args.tracemalloc)
            )
    print(
        f"\n{args.minutes:.0f} minutes: {args.users} users of the mix, {args.churn} websocket "
        f"churn loops, {MESSAGE_RATE:.0f} chat message/s; samples every {args.sample:.0f} s; "
        f"rest {args.rest:.0f} s" + (f"; chat-1 with {args.chat1}" if args.chat1 else "")
    )
    print(report(watched, args.minutes))


if __name__ == "__main__":
    main()
