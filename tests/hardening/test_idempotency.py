"""`Idempotency-Key`: a write happens once, whatever fails after it, and a key names one request."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpClient

from devstack.embedded import free_port
from posts_service.app import create_app as create_posts
from posts_service.settings import PostsSettings
from shared.settings import Env
from shared.web.idempotency import Idempotency, Seal, enveloped, no_seal, sealed_write
from tests.infra import Infra
from tests.services import FAST_EVENTS, Users, base_url, serving
from tests.typing import AppClient
from tests.vouching import VOUCHED

ROOT = Path(__file__).resolve().parents[2]


def new_article(title: str = "Tomato soup") -> dict[str, Any]:
    return {"article": {"title": title, "description": "A warm classic", "body": "Blend."}}


async def article_count(db: asyncpg.Connection) -> int:
    count: int = await db.fetchval("SELECT count(*) FROM posts.articles")
    return count


class StalledServer:
    """A TCP server that accepts connections and never answers: a hung service."""

    def __init__(self) -> None:
        self.connected = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        self.connected.set()

    async def stop(self) -> None:
        for writer in self._writers:
            writer.close()
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


@pytest.fixture
async def posts_without_social(
    infra: Infra, auth_client: AppClient, tmp_path: Path
) -> AsyncIterator[AppClient]:
    """posts_service whose social_service is down (nothing listens on its port)."""
    env = infra.env(
        AUTH_URL=base_url(auth_client),
        SOCIAL_URL=f"http://127.0.0.1:{free_port()}",
        MEDIA_DIR=str(tmp_path / "media"),
    )
    async with serving(create_posts(PostsSettings.from_env(Env(env)), **FAST_EVENTS)) as client:
        yield client


async def test_a_retry_after_social_failed_answers_the_stored_article_and_creates_no_second(
    posts_without_social: AppClient, users: Users, db: asyncpg.Connection
) -> None:
    await users.add("jake")
    headers = {**users["jake"], "Idempotency-Key": "soup-after-outage"}
    first = await posts_without_social.post("/api/articles", json=new_article(), headers=headers)
    second = await posts_without_social.post("/api/articles", json=new_article(), headers=headers)
    assert await article_count(db) == 1
    assert first.status == 201, await first.text()
    assert second.status == 201
    assert second.headers["Idempotent-Replay"] == "true"
    assert (await second.json())["article"]["slug"] == (await first.json())["article"]["slug"]


async def test_the_same_key_with_another_body_is_refused_with_422(
    posts: AppClient, users: Users, db: asyncpg.Connection
) -> None:
    await users.add("jake")
    headers = {**users["jake"], "Idempotency-Key": "k-1"}
    first = await posts.post("/api/articles", json=new_article("Soup"), headers=headers)
    assert first.status == 201
    other = await posts.post("/api/articles", json=new_article("Bread"), headers=headers)
    assert other.status == 422
    errors = (await other.json())["errors"]
    assert any("Idempotency-Key" in sentence for sentence in errors["body"])
    assert await article_count(db) == 1


async def test_the_same_key_on_another_route_is_refused_with_422(
    posts: AppClient, users: Users
) -> None:
    await users.add("jake")
    headers = {**users["jake"], "Idempotency-Key": "k-2"}
    created = await posts.post("/api/articles", json=new_article("Soup"), headers=headers)
    slug = (await created.json())["article"]["slug"]
    comment = await posts.post(
        f"/api/articles/{slug}/comments", json={"comment": {"body": "Nice"}}, headers=headers
    )
    assert comment.status == 422
    assert "body" in (await comment.json())["errors"]


async def test_a_failed_write_leaves_its_key_free_for_a_corrected_retry(
    posts: AppClient, users: Users, db: asyncpg.Connection
) -> None:
    await users.add("jake")
    headers = {**users["jake"], "Idempotency-Key": "k-3"}
    bad = await posts.post(
        "/api/articles",
        json={"article": {**new_article()["article"], "media": ["nope"]}},
        headers=headers,
    )
    assert bad.status == 422
    again = await posts.post(
        "/api/articles",
        json={"article": {**new_article()["article"], "media": ["nope"]}},
        headers=headers,
    )
    assert again.status == 422
    assert "Idempotent-Replay" not in again.headers
    assert await article_count(db) == 0


async def test_the_key_of_a_replica_killed_mid_request_is_free_again_within_seconds(
    infra: Infra, auth_client: AppClient, users: Users, db: asyncpg.Connection, tmp_path: Path
) -> None:
    await users.add("jake")
    headers = {**users["jake"], "Idempotency-Key": "killed-1"}
    social = StalledServer()
    social_url = await social.start()
    port = free_port()
    env = {
        **os.environ,
        **infra.env(
            AUTH_URL=base_url(auth_client),
            SOCIAL_URL=social_url,
            MEDIA_DIR=str(tmp_path / "media"),
            POSTS_PORT=str(port),
            INTERNAL_TIMEOUT="60",
            IDEMPOTENCY_LEASE="2",
        ),
        "PYTHONPATH": str(ROOT),
    }
    replica = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "posts_service", cwd=ROOT, env=env
    )
    try:
        async with aiohttp.ClientSession(middlewares=VOUCHED) as session:
            deadline = time.monotonic() + 30
            while True:
                try:
                    async with session.get(f"http://127.0.0.1:{port}/health") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                assert time.monotonic() < deadline, "the replica did not start"
                await asyncio.sleep(0.1)
            hanging = asyncio.create_task(
                session.post(
                    f"http://127.0.0.1:{port}/api/articles", json=new_article(), headers=headers
                )
            )
            # The replica is composing its answer (asking the hung social_service): kill it.
            await asyncio.wait_for(social.connected.wait(), 20)
            replica.send_signal(signal.SIGKILL)
            await asyncio.wait_for(replica.wait(), 10)
            with pytest.raises(aiohttp.ClientError):
                await hanging
    finally:
        if replica.returncode is None:
            replica.kill()
            await asyncio.wait_for(replica.wait(), 10)
        await social.stop()

    settings = PostsSettings.from_env(
        Env(
            infra.env(
                AUTH_URL=base_url(auth_client),
                SOCIAL_URL=f"http://127.0.0.1:{free_port()}",
                MEDIA_DIR=str(tmp_path / "media"),
            )
        )
    )
    async with serving(create_posts(settings, **FAST_EVENTS)) as posts:
        started = time.monotonic()
        while True:
            retry = await posts.post("/api/articles", json=new_article(), headers=headers)
            if retry.status != 409 or time.monotonic() - started > 15:
                break
            await asyncio.sleep(0.5)
        assert retry.status == 201, await retry.text()
        assert time.monotonic() - started < 10
    assert await article_count(db) == 1


async def test_a_sealed_write_whose_commit_failed_is_not_answered_as_done(
    infra: Infra, posts: AppClient, aiohttp_client: AiohttpClient
) -> None:
    # The seal is written inside the write's transaction; if that transaction then fails to
    # commit, nothing happened: the client must not be told it did, and the key is free.
    pool = await asyncpg.create_pool(
        infra.database_url, min_size=1, max_size=2, server_settings={"search_path": "posts"}
    )
    keys = Idempotency(pool, ttl=60)
    attempts: list[int] = []

    async def produce(seal: Seal) -> tuple[int, Any]:
        attempts.append(1)
        async with pool.acquire() as connection, connection.transaction():
            await seal(connection, 201, {"made": len(attempts)})
            if len(attempts) == 1:
                raise ConnectionResetError("the connection dropped at COMMIT")
        return 201, {"made": len(attempts)}

    async def handler(request: web.Request) -> web.Response:
        return await keys.run(request, 7, produce)

    app = web.Application()
    app.router.add_post("/things", handler)
    client = await aiohttp_client(app)
    try:
        first = await client.post("/things", json={}, headers={"Idempotency-Key": "commit-1"})
        assert first.status == 500
        again = await client.post("/things", json={}, headers={"Idempotency-Key": "commit-1"})
        assert again.status == 201
        assert await again.json() == {"made": 2}
        assert "Idempotent-Replay" not in again.headers
    finally:
        await pool.close()


async def test_a_write_without_a_key_runs_bare_and_one_with_a_key_in_a_transaction(
    db: asyncpg.Connection,
) -> None:
    async def seal(connection: asyncpg.Connection, status: int, body: Any) -> None:
        """A key's seal (stands for Idempotency's own)."""

    assert enveloped(no_seal, "comment") is no_seal
    async with sealed_write(db, enveloped(no_seal, "comment")):
        assert not db.is_in_transaction()  # one statement commits by itself
    async with sealed_write(db, enveloped(seal, "comment")):
        assert db.is_in_transaction()  # the seal commits with the write or not at all
    assert not db.is_in_transaction()
