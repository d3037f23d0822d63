"""A stalled Redis (SIGSTOP: it accepts connections and never answers) costs requests a
bounded moment, not seconds each, and everything recovers when it answers again."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from devstack.embedded import start_valkey
from posts_service.app import create_app as create_posts
from posts_service.cache import article_key
from posts_service.settings import PostsSettings
from shared.data.redis import CircuitBreaker, create_redis
from shared.settings import Env
from shared.transport.redis_pipeline import PipelinedRedis
from tests.infra import Infra
from tests.services import FAST_EVENTS, Users, base_url, serving
from tests.typing import AppClient

# A deadline of the fault path (a behaviour, not a benchmark): the promise is about a second.
BOUND = 3.0


class PrivateValkey:
    def __init__(self, server: Any, url: str) -> None:
        self.server = server
        self.url = url
        self.pid: int = server._process.pid

    def stall(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.pid, signal.SIGCONT)


@pytest.fixture
def valkey(tmp_path: Path) -> Iterator[PrivateValkey]:
    server, url = start_valkey(tmp_path / "valkey", persist=False)
    private = PrivateValkey(server, url)
    try:
        yield private
    finally:
        private.resume()
        server.stop()


@pytest.fixture
async def posts_on_valkey(
    infra: Infra,
    valkey: PrivateValkey,
    auth_client: AppClient,
    social: AppClient,
    tmp_path: Path,
) -> AsyncIterator[AppClient]:
    env = infra.env(
        REDIS_URL=valkey.url,
        AUTH_URL=base_url(auth_client),
        SOCIAL_URL=base_url(social),
        MEDIA_DIR=str(tmp_path / "media"),
    )
    async with serving(create_posts(PostsSettings.from_env(Env(env)), **FAST_EVENTS)) as client:
        yield client


async def timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    response = await call
    return response, time.monotonic() - started


def new_article(title: str) -> dict[str, Any]:
    return {"article": {"title": title, "description": "d", "body": "b"}}


async def test_reads_and_writes_answer_quickly_while_redis_is_stalled_and_recover_after(
    posts_on_valkey: AppClient, users: Users, valkey: PrivateValkey
) -> None:
    posts = posts_on_valkey
    await users.add("jake")
    created = await posts.post("/api/articles", json=new_article("Soup"), headers=users["jake"])
    slug = (await created.json())["article"]["slug"]
    assert (await posts.get(f"/api/articles/{slug}")).status == 200  # now cached

    valkey.stall()
    read, read_took = await timed(posts.get(f"/api/articles/{slug}"))
    assert read.status == 200
    assert read_took < BOUND
    write, write_took = await timed(
        posts.post("/api/articles", json=new_article("Bread"), headers=users["jake"])
    )
    assert write.status == 201, await write.text()
    assert write_took < BOUND
    listing, list_took = await timed(posts.get("/api/articles"))
    assert listing.status == 200
    assert (await listing.json())["articlesCount"] == 2
    assert list_took < BOUND

    valkey.resume()
    client = aioredis.from_url(valkey.url, decode_responses=True)
    try:
        deadline = time.monotonic() + 15
        while True:
            await client.delete(article_key(slug))
            assert (await posts.get(f"/api/articles/{slug}")).status == 200
            if await client.exists(article_key(slug)):
                break  # the cache is filled again
            assert time.monotonic() < deadline, "the cache did not come back"
            await asyncio.sleep(0.5)
    finally:
        await client.aclose()


async def test_a_stalled_redis_is_skipped_after_one_timeout(valkey: PrivateValkey) -> None:
    breaker = CircuitBreaker(open_for=30)
    client = create_redis(valkey.url, breaker=breaker)
    reads = PipelinedRedis(valkey.url, breaker=breaker)
    try:
        await client.set("k", "v")
        valkey.stall()
        with pytest.raises((aioredis.RedisError, OSError)):
            await client.get("k")
        assert breaker.is_open()
        # While open, neither client waits for the stalled server: the calls fail at once,
        # which is what lets every later request skip Redis.
        for call in (client.get("k"), reads.get("k")):
            with pytest.raises((aioredis.RedisError, OSError)):
                await asyncio.wait_for(call, 0.2)
    finally:
        valkey.resume()
        await reads.close()
        await client.aclose()


async def test_a_blocking_read_may_wait_its_block_time_on_a_healthy_server(
    valkey: PrivateValkey,
) -> None:
    # XREADGROUP BLOCK waits for entries by design: its deadline is the block time plus the
    # command's, and an empty wait ends with no entries, not as an outage.
    client = create_redis(valkey.url)
    try:
        await client.xgroup_create("events:quiet", "readers", id="0", mkstream=True)
        started = time.monotonic()
        answer = await client.xreadgroup("readers", "one", {"events:quiet": ">"}, block=1000)
        assert not answer
        assert time.monotonic() - started >= 0.9
        assert not client.breaker.is_open()  # type: ignore[attr-defined]
    finally:
        await client.aclose()
