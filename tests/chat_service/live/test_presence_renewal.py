"""A replica renews its devices' presence one ZADD and one EXPIRE per user, for every device
of that user at once, in pipelined rounds of a few hundred devices."""

from __future__ import annotations

import time

import redis.asyncio as aioredis

from chat_service.live.presence import RENEW_CHUNK, Presence


async def test_every_device_of_every_user_is_renewed(redis: aioredis.Redis) -> None:
    presence = Presence(redis, ttl=90)
    # More devices than one round trip takes, several per user, one user with a lot.
    devices = [(user, f"d{user}-{n}") for user in range(1, 201) for n in range(3)]
    devices += [(999, f"many-{n}") for n in range(RENEW_CHUNK + 5)]
    before = time.time()
    assert await presence.renew(devices) == len(devices)
    for user in (1, 200, 999):
        key = f"chat:presence:{user}"
        entries = await redis.zrange(key, 0, -1, withscores=True)
        expected = {d for u, d in devices if u == user}
        assert {str(entry[0]) for entry in entries} == expected
        assert all(float(entry[1]) >= before + 90 for entry in entries)
        assert 0 < await redis.ttl(key) <= 90
    assert await presence.online([1, 200, 999, 1000]) == {1, 200, 999}


async def test_nothing_to_renew_is_no_round_trip(redis: aioredis.Redis) -> None:
    assert await Presence(redis, ttl=90).renew([]) == 0
