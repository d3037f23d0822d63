"""A profile load that races a `user.updated` invalidation never leaves the old profile cached."""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio as aioredis

from shared.contracts.profiles import PROFILE_TTL, Profiles
from shared.data.cache import JsonCache
from shared.transport.internal import InternalClient
from tests.factories import as_user, register
from tests.services import base_url
from tests.typing import AppClient


class HeldClient(InternalClient):
    """The real internal client, held after auth answered and before the caller goes on:
    the moment between a load's read and its cache write."""

    def __init__(self, url: str) -> None:
        super().__init__({"auth": [url]})
        self.answered = asyncio.Event()
        self.release = asyncio.Event()

    async def request(self, *args: Any, **kwargs: Any) -> Any:
        body = await super().request(*args, **kwargs)
        self.answered.set()
        await self.release.wait()
        return body


async def test_a_fill_that_read_before_an_invalidation_is_not_served_after_it(
    auth_client: AppClient, redis: aioredis.Redis
) -> None:
    auth_url = base_url(auth_client)
    user = await register(auth_client, "jake")
    headers = as_user(user)
    user_id = int(headers["X-User-Id"])
    held = HeldClient(auth_url)
    fresh = InternalClient({"auth": [auth_url]})
    try:
        racing = Profiles(JsonCache(redis, PROFILE_TTL), held)
        load = asyncio.create_task(racing.by_ids([user_id]))
        await asyncio.wait_for(held.answered.wait(), 10)  # it read the old profile
        changed = await auth_client.put(
            "/api/user", json={"user": {"bio": "new bio"}}, headers=headers
        )
        assert changed.status == 200
        # What the `user.updated` event's handler does, in any replica.
        await Profiles(JsonCache(redis, PROFILE_TTL), fresh).invalidate(user_id, "jake")
        held.release.set()
        await load  # its own answer may be the old one: it started before the change

        reader = Profiles(JsonCache(redis, PROFILE_TTL), fresh)
        assert (await reader.by_ids([user_id]))[user_id]["bio"] == "new bio"
    finally:
        await held.close()
        await fresh.close()
