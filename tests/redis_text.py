"""Redis reads typed as the tests' client answers them (it decodes responses to text)."""

from __future__ import annotations

from typing import Any, cast

import redis.asyncio as aioredis

Entries = list[tuple[str, dict[str, str]]]


async def entries(redis: aioredis.Redis, stream: str) -> Entries:
    """Every entry of a stream, oldest first."""
    return cast(Entries, await redis.xrange(stream))


async def read_group(redis: aioredis.Redis, group: str, consumer: str, stream: str) -> Entries:
    """The entries a consumer of a group takes that no one took before."""
    answer = cast(list[Any], await redis.xreadgroup(group, consumer, {stream: ">"}, count=10))
    return cast(Entries, answer[0][1]) if answer else []


async def text(redis: aioredis.Redis, key: str) -> str:
    """A key that must exist, as text."""
    value = await redis.get(key)
    assert isinstance(value, str), f"{key} holds {value!r}"
    return value
