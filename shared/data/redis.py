"""The Redis client of a service: every call has a deadline, and a stalled server is skipped.

Redis is a cache and a channel here, so an outage must degrade a request within a second,
not hang it. A dead server refuses connections at once, but a stalled one (overloaded,
paused, a network that drops packets) accepts them and never answers, and redis-py alone
would wait `socket_timeout` and then retry (8.x retries timeouts 10 times by default). So:

- redis-py retries once, and only a connection error (a restarted server's stale pooled
  connection), never a timeout;
- every command and pipeline runs under a deadline (`COMMAND_TIMEOUT`; blocking reads such
  as XREADGROUP BLOCK get their block time on top);
- a timeout or connection failure opens a circuit breaker shared with the pipelined connection
  (shared/transport/redis_pipeline.py): for `open_for` seconds every call fails at once, as
  a dead server would, then one call probes the server and closes the breaker if it answers
  (an error reply is an answer too; a probe cancelled on its way lets the next call probe).
  Callers already treat a failure as a cache miss (or fail open), so requests go on without
  Redis; background loops (outbox relay, consumers) see the same errors and retry later.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, cast

import redis.asyncio as aioredis
from aiohttp import web
from redis.asyncio.client import Pipeline
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from shared.keys import PIPELINED_REDIS, REDIS, SETTINGS
from shared.transport.redis_pipeline import CircuitBreaker, PipelinedRedis, encode_command

__all__ = [
    "COMMAND_TIMEOUT",
    "CircuitBreaker",
    "GuardedRedis",
    "create_redis",
    "redis_ctx",
    "send_commands",
]

# A second, as promised above: long enough that a busy machine (a process not scheduled for a
# few hundred milliseconds) is not taken for a stalled Redis, short enough to degrade fast.
COMMAND_TIMEOUT = 1.0
# How long a starting service waits for Redis to answer its first PING.
STARTUP_WAIT = 10.0
_BLOCKING = frozenset({"XREAD", "XREADGROUP", "BLPOP", "BRPOP", "BLMOVE", "BZPOPMIN", "BZPOPMAX"})


def _word(arg: Any) -> str:
    # redis-py spells some keywords as bytes (b"BLOCK"); str() of those would be "b'BLOCK'".
    return (arg.decode("latin-1") if isinstance(arg, bytes) else str(arg)).upper()


def _deadline(args: tuple[Any, ...]) -> float:
    """The command deadline, plus the time a blocking read may legitimately wait."""
    name = _word(args[0]) if args else ""
    if name not in _BLOCKING:
        return COMMAND_TIMEOUT
    if name in ("XREAD", "XREADGROUP"):
        words = [_word(arg) for arg in args]
        if "BLOCK" in words:
            return COMMAND_TIMEOUT + int(args[words.index("BLOCK") + 1]) / 1000
        return COMMAND_TIMEOUT
    return COMMAND_TIMEOUT + float(args[-1])


async def _guarded(breaker: CircuitBreaker, deadline: float, call: Any) -> Any:
    if not breaker.allow():
        call.close()
        raise RedisConnectionError("Redis is skipped for a moment: it failed just now")
    try:
        async with asyncio.timeout(deadline):
            result = await call
    except TimeoutError as exc:
        breaker.failed()
        raise RedisTimeoutError(f"Redis did not answer within {deadline:.1f} s") from exc
    except (RedisConnectionError, RedisTimeoutError, OSError):
        breaker.failed()
        raise
    except ResponseError:
        # An error reply (NOGROUP after a restart emptied it, WRONGTYPE): the server answered.
        breaker.succeeded()
        raise
    except BaseException:
        # Cancelled, or refused before anything was sent: no verdict on the server.
        breaker.abandoned()
        raise
    breaker.succeeded()
    return result


class GuardedPipeline(Pipeline):
    breaker: CircuitBreaker

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        deadline = COMMAND_TIMEOUT + sum(
            _deadline(command[0]) - COMMAND_TIMEOUT for command in self.command_stack
        )
        result: list[Any] = await _guarded(self.breaker, deadline, super().execute(raise_on_error))
        return result


class GuardedRedis(aioredis.Redis):
    """redis-py's client with a deadline on every call and a circuit breaker."""

    breaker: CircuitBreaker

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        command = super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
        return await _guarded(self.breaker, _deadline(args), command)

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> Pipeline:
        pipe = GuardedPipeline(
            self.connection_pool, self.response_callbacks, transaction, shard_hint
        )
        pipe.breaker = self.breaker
        return pipe


def create_redis(url: str, breaker: CircuitBreaker | None = None) -> aioredis.Redis:
    client = cast(
        GuardedRedis,
        GuardedRedis.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=COMMAND_TIMEOUT,
            # Above the deadline: the deadline decides, the socket timeout only backs it up.
            socket_timeout=2.0,
            retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
            health_check_interval=30,
            max_connections=200,
        ),
    )
    client.breaker = breaker or CircuitBreaker()
    return client


async def send_commands(
    redis: aioredis.Redis, pipelined: PipelinedRedis | None, commands: list[tuple[str, ...]]
) -> None:
    """Sends the commands in one round trip: on the pipelined connection when the service has
    one, else in a redis-py pipeline (over TLS). Raises what Redis or the connection raised,
    once all have answered."""
    if pipelined is not None:
        await pipelined.execute_many([encode_command(*command) for command in commands])
        return
    async with redis.pipeline(transaction=False) as pipe:
        for command in commands:
            pipe.execute_command(*command)
        await pipe.execute()


async def _first_ping(client: aioredis.Redis) -> None:
    """The first PING, tried again for a while: Redis may be starting beside this service
    (the breaker makes the tries in between fail at once, so this is a few round trips)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STARTUP_WAIT
    while True:
        try:
            await client.ping()
            return
        except (RedisConnectionError, RedisTimeoutError, OSError):
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.25)


async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
    url = app[SETTINGS].redis_url.get()
    breaker = CircuitBreaker()
    client = create_redis(url, breaker)
    await _first_ping(client)
    app[REDIS] = client
    # The pipelined connection speaks plain TCP or a Unix socket; over TLS, redis-py does it all.
    pipelined = None if url.startswith("rediss://") else PipelinedRedis(url, breaker=breaker)
    if pipelined is not None:
        app[PIPELINED_REDIS] = pipelined
    try:
        yield
    finally:
        if pipelined is not None:
            await pipelined.close()
        await client.aclose()
