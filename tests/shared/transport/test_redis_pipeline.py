"""Pipelined Redis commands (cache reads, scripts, batches) against the real Redis of the test run."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import uuid

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from shared.transport.redis_pipeline import (
    CircuitBreaker,
    PipelinedRedis,
    _Protocol,
    encode_command,
)
from tests import redis_text
from tests.infra import Infra


def with_db(url: str, db: int) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{db}"


async def test_get_and_mget_answer_what_redis_holds(infra: Infra, redis: aioredis.Redis) -> None:
    await redis.set("a", "plain")
    await redis.set("b", "ünïcode ✓")
    reads = PipelinedRedis(infra.redis_url)
    try:
        assert await reads.get("a") == "plain"
        assert await reads.get("missing") is None
        assert await reads.mget(["a", "missing", "b"]) == ["plain", None, "ünïcode ✓"]
    finally:
        await reads.close()


async def test_concurrent_reads_each_get_their_own_reply(
    infra: Infra, redis: aioredis.Redis
) -> None:
    await redis.mset({f"k{i}": f"v{i}" for i in range(200)})
    reads = PipelinedRedis(infra.redis_url)
    try:
        replies = await asyncio.gather(
            *(reads.mget([f"k{i}", f"k{(i + 1) % 200}"]) for i in range(200))
        )
        assert replies == [[f"v{i}", f"v{(i + 1) % 200}"] for i in range(200)]
    finally:
        await reads.close()


async def test_an_error_reply_is_raised_and_the_connection_goes_on(infra: Infra) -> None:
    reads = PipelinedRedis(infra.redis_url)
    try:
        with pytest.raises(ResponseError):
            await reads.mget([])  # MGET needs a key
        assert await reads.get("a") is None
    finally:
        await reads.close()


async def test_the_database_of_the_url_is_selected(infra: Infra, redis: aioredis.Redis) -> None:
    key = f"only-here-{uuid.uuid4().hex}"
    await redis.set(key, "yes")
    db = int(infra.redis_url.rpartition("/")[2] or 0)
    same, other = (
        PipelinedRedis(infra.redis_url),
        PipelinedRedis(with_db(infra.redis_url, (db + 1) % 16)),
    )
    try:
        assert await same.get(key) == "yes"
        assert await other.get(key) is None  # read only: another database is not ours
    finally:
        await same.close()
        await other.close()


async def test_a_refused_password_is_a_connection_error(infra: Infra) -> None:
    host_part = infra.redis_url.split("://", 1)[1]
    reads = PipelinedRedis(f"redis://:wrong-password@{host_part}")
    try:
        with pytest.raises(ConnectionError):
            await reads.get("a")
    finally:
        await reads.close()


async def test_unreachable_redis_fails_fast_while_it_stays_down() -> None:
    reads = PipelinedRedis("redis://127.0.0.1:1/0", breaker=CircuitBreaker(open_for=30))
    try:
        with pytest.raises(ConnectionError):
            await reads.get("a")
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(ConnectionError, match="skipped for a moment"):
            await reads.mget(["a"])
        assert loop.time() - started < 0.1
    finally:
        await reads.close()


SCRIPT = "return redis.call('INCRBY', KEYS[1], ARGV[1])"


async def test_a_script_runs_by_its_sha_and_is_sent_again_after_a_flush(
    infra: Infra, redis: aioredis.Redis
) -> None:
    key = f"counter-{uuid.uuid4().hex}"
    sha = hashlib.sha1(SCRIPT.encode()).hexdigest()  # noqa: S324 (Redis' name for a script)
    pipelined = PipelinedRedis(infra.redis_url)
    try:
        await redis.script_flush()
        assert await pipelined.evalsha(sha, SCRIPT, [key], ["2"]) == 2  # NOSCRIPT, then EVAL
        assert (await redis.script_exists(sha)) == [True]
        assert await pipelined.evalsha(sha, SCRIPT, [key], ["3"]) == 5
        with pytest.raises(ResponseError):
            await pipelined.evalsha(sha, SCRIPT, [key], ["not a number"])
    finally:
        await pipelined.close()


async def test_commands_sent_together_answer_in_order_and_an_error_is_raised(
    infra: Infra, redis: aioredis.Redis
) -> None:
    stream = f"stream-{uuid.uuid4().hex}"
    pipelined = PipelinedRedis(infra.redis_url)
    try:
        adds = [encode_command("XADD", stream, "*", "n", str(i)) for i in range(50)]
        ids = await pipelined.execute_many(adds)
        entries = await redis_text.entries(redis, stream)
        assert [entry_id for entry_id, _ in entries] == ids
        assert [fields["n"] for _, fields in entries] == [str(i) for i in range(50)]
        with pytest.raises(ResponseError):
            await pipelined.execute_many(
                [encode_command("XADD", stream, "*", "n", "50"), encode_command("MGET")]
            )
        assert await redis.xlen(stream) == 51  # the good command of the batch was applied
        assert await pipelined.get("missing") is None  # and the connection goes on
    finally:
        await pipelined.close()


class RecordingTransport(asyncio.Transport):
    """Stands in for the socket: records each write the protocol makes."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return False

    def get_extra_info(self, name: str, default: object = None) -> object:
        return default


async def test_commands_queued_in_one_turn_of_the_loop_go_out_in_one_write() -> None:
    protocol = _Protocol(lambda _: None)
    transport = RecordingTransport()
    protocol.connection_made(transport)
    commands = [encode_command("GET", f"k{i}") for i in range(3)]
    for command in commands:
        protocol.send(command)
    assert transport.writes == []  # nothing yet: the turn is not over
    await asyncio.sleep(0)
    assert transport.writes == [b"".join(commands)]
    protocol.send(commands[0])
    await asyncio.sleep(0)
    assert transport.writes[1:] == [commands[0]]  # a later turn writes again


async def test_a_batch_that_times_out_fails_whole_and_leaves_no_unretrieved_error() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(1 << 16):  # a stalled server: takes the commands, never
            pass  # answers, and ends when the client hangs up
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    loop = asyncio.get_running_loop()
    unhandled: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _, context: unhandled.append(context))
    pipelined = PipelinedRedis(f"redis://127.0.0.1:{port}/0", timeout=0.2)
    try:
        with pytest.raises(TimeoutError):
            await pipelined.execute_many([encode_command("GET", "a"), encode_command("GET", "b")])
        await asyncio.sleep(0.05)  # the connection's loss reaches the protocol
        gc.collect()
        assert unhandled == []
    finally:
        loop.set_exception_handler(None)
        await pipelined.close()
        server.close()
        await server.wait_closed()
