"""Presence across replicas: online while a device is connected anywhere, renewed, counted under load."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from chat_service.live.presence import Presence
from tests.chat_service.conftest import group
from tests.chat_service.helpers import Connect, Replicas
from tests.services import Users


async def test_a_user_is_online_while_one_device_is_connected_on_any_replica(
    replicas: Replicas, users: Users, sockets: Connect
) -> None:
    a, b = await replicas(2)
    await users.add("jake", "anna")
    soups = await group(a, users["anna"], members=["jake"])
    anna = await sockets(a, users["anna"])

    async def jake_online() -> bool:
        response = await a.get(f"/api/chats/{soups['id']}", headers=users["anna"])
        members = (await response.json())["chat"]["members"]
        return bool(next(m["online"] for m in members if m["username"] == "jake"))

    assert not await jake_online()
    phone = await sockets(b, users["jake"])
    came = await anna.until("presence", username="jake")
    laptop = await sockets(a, users["jake"])
    await phone.ws.close()
    still = await jake_online()
    await laptop.ws.close()
    went = await anna.until("presence", username="jake")

    assert came["data"]["online"] is True
    assert still is True
    assert went["data"]["online"] is False
    assert not await jake_online()


async def test_a_connected_device_stays_online_past_the_presence_ttl(
    replicas: Replicas, users: Users, sockets: Connect
) -> None:
    (replica,) = await replicas(1, CHAT_PRESENCE_TTL="5")
    await users.add("jake", "anna")
    soups = await group(replica, users["anna"], members=["jake"])
    await sockets(replica, users["jake"])
    await asyncio.sleep(6)  # past the TTL: only the replica's renewals keep the entry

    response = await replica.get(f"/api/chats/{soups['id']}", headers=users["anna"])
    members = (await response.json())["chat"]["members"]
    assert next(m["online"] for m in members if m["username"] == "jake") is True


async def test_hundreds_of_devices_coming_and_going_at_once_are_all_counted(
    redis: aioredis.Redis,
) -> None:
    # More at once than the Redis pool has connections (200): presence queues, never fails.
    presence = Presence(redis, ttl=60)
    devices = [(7, f"device-{number}") for number in range(300)]

    firsts = await asyncio.gather(*(presence.connect(*device) for device in devices))
    online_count = await presence.devices(7)
    lasts = await asyncio.gather(*(presence.disconnect(*device) for device in devices))

    assert sum(firsts) == 1 and online_count == 300
    assert sum(lasts) == 1 and await presence.online([7]) == set()
