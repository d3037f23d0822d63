"""auth_service/hashing.py: password hashing, bounded."""

from __future__ import annotations

import asyncio

from pytest_aiohttp import AiohttpClient

from auth_service.app import create_app
from tests.factories import auth_settings, register
from tests.infra import Infra


async def test_sign_ins_past_the_hashing_queue_answer_503_at_once(
    infra: Infra, aiohttp_client: AiohttpClient
) -> None:
    # One hash at a time and none waiting: of many logins at once, those that find the
    # hashing busy are told to come back instead of queueing.
    settings = auth_settings(
        infra,
        ARGON2_WORKERS="1",
        ARGON2_QUEUE="0",
        ARGON2_TIME_COST="4",
        ARGON2_MEMORY_KIB="65536",
    )
    client = await aiohttp_client(create_app(settings))
    await register(client, "jake")
    credentials = {"user": {"email": "jake@example.com", "password": "jakejake1"}}

    async def login() -> tuple[int, str | None]:
        response = await client.post("/api/users/login", json=credentials)
        return response.status, response.headers.get("Retry-After")

    answers = await asyncio.gather(*(login() for _ in range(12)))
    statuses = sorted({status for status, _ in answers})
    assert statuses == [200, 503]
    assert all(retry == "1" for status, retry in answers if status == 503)
