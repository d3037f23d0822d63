"""posts_service/clients.py: posts in front of two social_service replicas, one of which goes away
and back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from posts_service.app import create_app as create_posts
from posts_service.keys import READS
from posts_service.settings import PostsSettings
from shared.settings import Env
from social_service.app import create_app as create_social
from social_service.settings import SocialSettings
from tests.infra import Infra
from tests.posts_service.helpers import create
from tests.services import FAST_EVENTS, Users, base_url, serving
from tests.waiting import until

Client = TestClient[web.Request, web.Application]


class SocialReplica:
    """One social_service replica on a fixed port, which a test can stop and start again."""

    def __init__(self, infra: Infra, auth: Client) -> None:
        self.settings = SocialSettings.from_env(Env(infra.env(AUTH_URL=base_url(auth))))
        self.client: Client | None = None
        self.port = 0

    async def start(self) -> None:
        server = TestServer(create_social(self.settings, **FAST_EVENTS), port=self.port or None)
        self.client = TestClient(server)
        await self.client.start_server()
        self.port = server.port or 0

    async def stop(self) -> None:
        assert self.client is not None
        await self.client.close()
        self.client = None


@pytest.fixture
async def socials(infra: Infra, auth_client: Client) -> AsyncIterator[list[SocialReplica]]:
    replicas = [SocialReplica(infra, auth_client), SocialReplica(infra, auth_client)]
    for replica in replicas:
        await replica.start()
    try:
        yield replicas
    finally:
        for replica in replicas:
            if replica.client is not None:
                await replica.stop()


@pytest.fixture
async def posts_on_two(
    infra: Infra, auth_client: Client, socials: list[SocialReplica], tmp_path: Path
) -> AsyncIterator[Client]:
    env = infra.env(
        AUTH_URL=base_url(auth_client),
        SOCIAL_URL=",".join(f"http://127.0.0.1:{replica.port}" for replica in socials),
        MEDIA_DIR=str(tmp_path / "media"),
    )
    async with serving(create_posts(PostsSettings.from_env(Env(env)), **FAST_EVENTS)) as client:
        yield client


async def list_articles(posts: Client, redis: aioredis.Redis, count: int) -> list[int]:
    """GET /api/articles `count` times, each time without social's facts in Redis, so
    that each one calls social_service."""
    statuses = []
    for _ in range(count):
        keys = [key async for key in redis.scan_iter("sf:*")]
        if keys:
            await redis.delete(*keys)
        response = await posts.get("/api/articles")
        await response.read()
        statuses.append(response.status)
    return statuses


async def test_articles_keep_answering_while_a_social_replica_is_down_and_back(
    posts_on_two: Client, socials: list[SocialReplica], users: Users, redis: aioredis.Redis
) -> None:
    await users.add("jake")
    await create(posts_on_two, users["jake"], "Tomato soup")
    await create(posts_on_two, users["jake"], "Onion soup")
    assert await list_articles(posts_on_two, redis, 6) == [200] * 6
    balancer = posts_on_two.app[READS].social.client.balancers["social"]
    stopped = next(r for r in balancer.replicas if r.port == socials[1].port)

    await socials[1].stop()
    # Several at once, as in production: each one's retry must still find the live replica.
    rounds = await asyncio.gather(*(list_articles(posts_on_two, redis, 10) for _ in range(4)))
    assert [status for statuses in rounds for status in statuses] == [200] * 40
    assert stopped.failures >= 1  # it was tried, refused, and left out

    await socials[1].start()

    async def readmitted() -> bool:
        assert await list_articles(posts_on_two, redis, 1) == [200]
        return bool(stopped.failures == 0)  # a call went to it and it answered

    await until(readmitted, timeout=30, every=0.5)  # after its ejection (10 s) ends
