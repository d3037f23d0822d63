"""Notification drills: a burst of likes through the gateway while Redis restarts empty, or
while a replica of each service that carries a like (posts, social, chat) is killed. Every
like answered 2xx must give its recipe's author one notification in the list, never two, and
no socket may receive one twice; a socket that stayed connected receives every one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest

from tests.drills.conftest import Population
from tests.drills.load import User
from tests.drills.stack import DrillStack

pytestmark = [pytest.mark.drill, pytest.mark.timeout(240)]

RECIPES_PER_USER = 3
# A like is retried (it is idempotent) until it is answered 2xx, for up to this long.
RETRY_FOR = 40.0
# How long the list may take to hold every notification: an event a killed replica had read
# is taken over by the other after the consumer's claim time (30 s).
SETTLE_FOR = 90.0


@dataclass
class Socket:
    """One user's socket through the gateway, reconnected whenever it drops; what each of its
    connections received."""

    user: User
    connections: list[Counter[int]] = field(default_factory=list)
    dropped: bool = False


async def _like(session: aiohttp.ClientSession, user: User, slug: str) -> None:
    deadline = time.monotonic() + RETRY_FOR
    headers = {"Authorization": f"Token {user.token}"}
    while True:
        try:
            async with session.post(
                f"/api/articles/{slug}/favorite",
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=10),
            ) as response:
                if response.status == 200:
                    return
        except (aiohttp.ClientError, TimeoutError):
            pass
        assert time.monotonic() < deadline, f"{user.name} could not like {slug}"
        await asyncio.sleep(0.2)


async def _recipes(session: aiohttp.ClientSession, user: User, run: str) -> list[str]:
    slugs = []
    for number in range(RECIPES_PER_USER):
        article = {
            "article": {"title": f"{user.name} {run} {number}", "description": "d", "body": "b"}
        }
        async with session.post(
            "/api/articles", json=article, headers={"Authorization": f"Token {user.token}"}
        ) as response:
            assert response.status == 201, await response.text()
            slugs.append((await response.json())["article"]["slug"])
    return slugs


async def _listen(session: aiohttp.ClientSession, socket: Socket, ready: asyncio.Event) -> None:
    while True:
        received: Counter[int] = Counter()
        try:
            async with session.ws_connect(f"/api/chat/ws?token={socket.user.token}") as ws:
                socket.connections.append(received)
                async for frame in ws:
                    if frame.type is not aiohttp.WSMsgType.TEXT:
                        continue
                    event = json.loads(frame.data)
                    if event["type"] == "hello":
                        ready.set()
                    elif event["type"] == "notification.created":
                        received[event["data"]["id"]] += 1
        except (aiohttp.ClientError, TimeoutError):
            pass
        socket.dropped = True
        await asyncio.sleep(0.5)


@contextlib.asynccontextmanager
async def _sockets(
    session: aiohttp.ClientSession, users: list[User]
) -> AsyncIterator[list[Socket]]:
    sockets = [Socket(user) for user in users]
    ready = [asyncio.Event() for _ in users]
    tasks = [
        asyncio.create_task(_listen(session, socket, event))
        for socket, event in zip(sockets, ready, strict=True)
    ]
    try:
        async with asyncio.timeout(20):
            await asyncio.gather(*(event.wait() for event in ready))
        yield sockets
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _listed(session: aiohttp.ClientSession, user: User, run: str) -> list[dict[str, Any]]:
    """The user's favorited notifications of this run's recipes, every page."""
    found: list[dict[str, Any]] = []
    cursor = ""
    while True:
        async with session.get(
            f"/api/notifications?types=favorited&limit=100{cursor}",
            headers={"Authorization": f"Token {user.token}"},
        ) as response:
            if response.status != 200:
                return [*found, {"unavailable": response.status}]
            page = await response.json()
        found += [n for n in page["notifications"] if f"-{run}-" in n["article"]["slug"]]
        if page["nextCursor"] is None:
            return found
        cursor = f"&before={page['nextCursor']}"


async def burst_of_likes(
    drill: DrillStack,
    population: Population,
    fault: Callable[[], Awaitable[None]],
) -> None:
    users = population.users
    run = f"n{int(time.time())}"
    async with aiohttp.ClientSession(base_url=drill.gateway) as session:
        slugs = {user.name: await _recipes(session, user, run) for user in users}
        expected = {
            user.name: {
                (liker.name, slug)
                for liker in users
                if liker is not user
                for slug in slugs[user.name]
            }
            for user in users
        }
        likes = [
            (liker, slug)
            for liker in users
            for author in users
            if author is not liker
            for slug in slugs[author.name]
        ]
        async with _sockets(session, users) as sockets:
            burst = asyncio.gather(
                *(
                    _delayed(index * 0.04, _like(session, liker, slug))
                    for index, (liker, slug) in enumerate(likes)
                )
            )
            await asyncio.sleep(1.0)
            await fault()
            await burst
            deadline = time.monotonic() + SETTLE_FOR
            while True:
                listed = {user.name: await _listed(session, user, run) for user in users}
                complete = all(
                    {
                        (n["actor"]["username"], n["article"]["slug"])
                        for n in listed[u.name]
                        if "actor" in n
                    }
                    == expected[u.name]
                    for u in users
                )
                if complete or time.monotonic() > deadline:
                    break
                await asyncio.sleep(1.0)
            await asyncio.sleep(2.0)  # a late duplicate would show now
            listed = {user.name: await _listed(session, user, run) for user in users}

    problems = []
    for socket in sockets:
        name = socket.user.name
        keys = [
            (n["actor"]["username"], n["article"]["slug"]) for n in listed[name] if "actor" in n
        ]
        if set(keys) != expected[name]:
            problems.append(f"{name}: {len(expected[name] - set(keys))} missing from the list")
        if len(keys) != len(set(keys)):
            problems.append(f"{name}: {len(keys) - len(set(keys))} listed twice")
        ids = {n["id"] for n in listed[name] if "id" in n}
        for connection in socket.connections:
            twice = [i for i, count in connection.items() if count > 1]
            if twice:
                problems.append(f"{name}: {len(twice)} received twice on one socket")
        if not socket.dropped and set(socket.connections[0]) & ids != ids:
            problems.append(f"{name}: {len(ids - set(socket.connections[0]))} never arrived live")
    delivered = sum(len(c) for s in sockets for c in s.connections)
    print(
        f"\nDRILL notifications: {len(likes)} likes, {sum(len(v) for v in listed.values())} "
        f"listed, {delivered} live deliveries, "
        f"{sum(s.dropped for s in sockets)} of {len(sockets)} sockets dropped and reconnected",
        flush=True,
    )
    assert not problems, problems


async def _delayed(seconds: float, work: Awaitable[None]) -> None:
    await asyncio.sleep(seconds)
    await work


async def test_redis_restarted_empty_during_a_burst_of_likes_loses_no_notification(
    drill: DrillStack, population: Population
) -> None:
    async def restart_redis() -> None:
        drill.kill_redis()
        await asyncio.sleep(3)
        await drill.start_redis()

    await burst_of_likes(drill, population, restart_redis)


async def test_replicas_killed_during_a_burst_of_likes_lose_no_notification(
    drill: DrillStack, population: Population
) -> None:
    async def kill_replicas() -> None:
        for service in ("chat", "social", "posts"):
            drill.kill(f"{service}-1")
        await asyncio.sleep(2)
        for service in ("chat", "social", "posts"):
            drill.start(f"{service}-1")
        await drill.wait_ready("chat-1", "social-1", "posts-1")

    await burst_of_likes(drill, population, kill_replicas)
