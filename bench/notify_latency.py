"""How long a notification takes to reach its recipient's open socket, measured under the
write mix of `bench.writes` (`--notifications`), from the moment the write's answer arrives.

Every user of the mix keeps the chat socket open through the gateway. A comment notifies the
recipe's author (matched by the comment's id); the first like of a recipe by a person notifies
its author (matched by liker and slug: repeats within the hour fold into it, and the mix's
unlike-like repeats are left out). A notification that arrives before the write's answer
counts 0 ms. Missing and duplicated notifications are counted too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp

Key = tuple[str, str, str]


@dataclass
class Deliveries:
    answered: dict[Key, float] = field(default_factory=dict)  # the write's answer, first one
    arrived: dict[Key, float] = field(default_factory=dict)
    repeats: Counter[Key] = field(default_factory=Counter)

    def write_answered(self, key: Key) -> None:
        self.answered.setdefault(key, time.perf_counter())

    def notification(self, data: dict[str, Any]) -> None:
        key = key_of(data)
        if key is None:
            return
        if key in self.arrived:
            self.repeats[key] += 1
        else:
            self.arrived[key] = time.perf_counter()

    def summary(self, expected: set[Key]) -> str:
        latencies = sorted(
            max(0.0, self.arrived[key] - self.answered[key]) * 1000.0
            for key in expected
            if key in self.arrived and key in self.answered
        )
        missing = len(expected - self.arrived.keys())
        if not latencies:
            return f"notifications: none measured, {missing} missing"

        def at(share: float) -> float:
            return latencies[min(len(latencies) - 1, int(share * len(latencies)))]

        return (
            f"notifications: {len(latencies)} reached their socket, p50 {at(0.5):.1f} ms, "
            f"p99 {at(0.99):.1f} ms, max {latencies[-1]:.1f} ms after the write's answer; "
            f"{missing} missing, {sum(self.repeats.values())} duplicated"
        )


def key_of(data: dict[str, Any]) -> Key | None:
    if data.get("type") == "commented" and data.get("comment"):
        return ("commented", str(data["comment"]["id"]), "")
    if data.get("type") == "favorited" and data.get("actor") and data.get("article"):
        return ("favorited", str(data["actor"]["username"]), str(data["article"]["slug"]))
    return None


@contextlib.asynccontextmanager
async def listening(port: int, tokens: list[str], deliveries: Deliveries) -> AsyncIterator[None]:
    """Every user's socket open (past its hello) while the body runs."""
    async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{port}") as session:
        sockets = [await session.ws_connect(f"/api/chat/ws?token={token}") for token in tokens]

        async def read(ws: aiohttp.ClientWebSocketResponse) -> None:
            async for frame in ws:
                if frame.type is not aiohttp.WSMsgType.TEXT:
                    continue
                event = json.loads(frame.data)
                if event["type"] == "notification.created":
                    deliveries.notification(event["data"])

        for ws in sockets:
            async with asyncio.timeout(10):
                while json.loads((await ws.receive()).data)["type"] != "hello":
                    pass
        readers = [asyncio.create_task(read(ws)) for ws in sockets]
        try:
            yield
        finally:
            for ws in sockets:
                await ws.close()
            await asyncio.gather(*readers, return_exceptions=True)
