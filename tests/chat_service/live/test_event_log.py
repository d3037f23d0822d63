"""Events other than message.created that pub/sub lost (the publishing replica could not
reach Redis, or the listening replica's subscription was broken) come from the event log:
late rather than never, each once, in order."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import asyncpg
from yarl import URL

from chat_service.live.log import EventLog
from chat_service.live.wire import ChatEvent, Wire
from chat_service.queries import live_events as q_live_events
from devstack.embedded import start_valkey
from tests.chat_service.conftest import Socket, general_id, send
from tests.chat_service.helpers import Connect, Replicas, group_of
from tests.infra import Infra
from tests.services import Users
from tests.typing import AppClient

# What pub/sub may lose and the log brings back (typing and presence are left out).
RECORDED = {
    "chat.updated",
    "chat.member_joined",
    "chat.member_left",
    "message.updated",
    "message.deleted",
    "comment.created",
    "chat.read",
    "chat.join_requested",
    "chat.join_decided",
}


async def recorded_events(socket: Socket, count: int, timeout: float = 10.0) -> list[Any]:
    """The next `count` recorded events the socket receives, then what else came in a
    moment (nothing, when each is delivered once)."""
    received: list[Any] = []
    while len(received) < count:
        event = await socket.next(timeout)
        if event["type"] in RECORDED:
            received.append(event)
    received += [e for e in await socket.quiet(1.0) if e["type"] in RECORDED]
    return received


class Relay:
    """A TCP relay to Redis that can be cut (its connections closed, new ones refused) and
    mended: one replica's way to Redis breaks while the others' holds."""

    def __init__(self, redis_url: str) -> None:
        self.target = URL(redis_url)
        self.port = 0
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]
        return str(self.target.with_host("127.0.0.1").with_port(self.port))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.add(writer)
        assert self.target.host is not None and self.target.port is not None
        try:
            up_reader, up_writer = await asyncio.open_connection(self.target.host, self.target.port)
        except OSError:
            writer.close()
            return
        self.writers.add(up_writer)
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    async def break_off(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        # A connection accepted before the server closed may still be opening its way
        # upstream, and adds that writer while these wait: close until none is left.
        while self.writers:
            writers = list(self.writers)
            self.writers.clear()
            for writer in writers:
                writer.close()
            for writer in writers:
                with contextlib.suppress(OSError):
                    await writer.wait_closed()

    async def mend(self) -> None:
        await self.start()


async def changes_on(replica: AppClient, users: Users, chat_id: int, message_id: int) -> None:
    """The owner renames the chat, adds bob and edits a message; anna reads; all answered."""
    jake, anna = users["jake"], users["anna"]
    url = f"/api/chats/{chat_id}"
    renamed = await replica.patch(url, json={"chat": {"title": "Stews"}}, headers=jake)
    assert renamed.status == 200, await renamed.text()
    added = await replica.post(f"{url}/members", json={"username": "bob"}, headers=jake)
    assert added.status == 201, await added.text()
    edit = {"message": {"body": "first, edited"}}
    edited = await replica.patch(f"{url}/messages/{message_id}", json=edit, headers=jake)
    assert edited.status == 200, await edited.text()
    read = await replica.post(f"{url}/read", json={"seq": 1}, headers=anna)
    assert read.status == 200, await read.text()


def summary(events: list[Any]) -> list[tuple[str, Any]]:
    keys = {"chat.updated": "title", "chat.member_joined": "user", "message.updated": "body"}
    out = []
    for event in events:
        value = event["data"].get(keys.get(event["type"], "seq"))
        out.append((event["type"], value["username"] if isinstance(value, dict) else value))
    return out


EXPECTED = [
    ("chat.updated", "Stews"),
    ("chat.member_joined", "bob"),
    ("message.updated", "first, edited"),
    ("chat.read", 1),
]


async def test_events_a_replica_could_not_publish_reach_the_other_replica_once_in_order(
    replicas: Replicas, users: Users, sockets: Connect, infra: Infra
) -> None:
    relay = Relay(infra.redis_url)
    try:
        (a,) = await replicas(1, REDIS_URL=await relay.start())
        (b,) = await replicas(1)
        await users.add("jake", "anna", "bob")
        chat_id = await group_of(a, users, "jake", "anna")
        first = await send(a, users["jake"], chat_id, "first")
        anna = await sockets(b, users["anna"])

        await relay.break_off()  # a cannot reach Redis: every publish of a fails
        await changes_on(a, users, chat_id, first["id"])
        await relay.mend()  # and back

        assert summary(await recorded_events(anna, len(EXPECTED))) == EXPECTED
    finally:
        await relay.break_off()


async def test_events_published_while_the_subscription_was_broken_arrive_once_in_order(
    replicas: Replicas, users: Users, sockets: Connect, tmp_path: Path
) -> None:
    server, url = start_valkey(tmp_path / "valkey", persist=False)
    port = server.port
    try:
        a, b = await replicas(2, REDIS_URL=url)
        await users.add("jake", "anna", "bob")
        chat_id = await group_of(a, users, "jake", "anna")
        first = await send(a, users["jake"], chat_id, "first")
        anna = await sockets(b, users["anna"])

        server.stop()
        await changes_on(a, users, chat_id, first["id"])
        server, _ = start_valkey(tmp_path / "valkey", port=port, persist=False)

        assert summary(await recorded_events(anna, len(EXPECTED), timeout=15.0)) == EXPECTED
    finally:
        server.stop()


async def test_an_event_heard_live_is_not_delivered_again_from_the_log(
    replicas: Replicas, users: Users, sockets: Connect
) -> None:
    a, b = await replicas(2)
    await users.add("jake", "anna", "bob")
    chat_id = await group_of(a, users, "jake", "anna")
    first = await send(a, users["jake"], chat_id, "first")
    anna = await sockets(b, users["anna"])

    await changes_on(a, users, chat_id, first["id"])

    # The log's reader runs every 0.3 s here and waits 0.2 s for pub/sub: a second copy
    # would come within the quiet second.
    assert summary(await recorded_events(anna, len(EXPECTED))) == EXPECTED


async def test_a_socket_is_not_sent_a_lost_event_its_hello_already_covered(
    replicas: Replicas, users: Users, sockets: Connect, infra: Infra
) -> None:
    relay = Relay(infra.redis_url)
    try:
        (a,) = await replicas(1, REDIS_URL=await relay.start())
        (b,) = await replicas(1)
        await users.add("jake", "anna", "bob")
        chat_id = await group_of(a, users, "jake", "anna")
        first = await send(a, users["jake"], chat_id, "first")
        await relay.break_off()
        await changes_on(a, users, chat_id, first["id"])
        await relay.mend()
    finally:
        await relay.break_off()
    # Connected after the changes, before b's reader found them in the log: what the socket
    # reads (its hello, then the chat) already shows them.
    anna = await sockets(b, users["anna"])

    assert [e for e in await anna.quiet(1.5) if e["type"] in RECORDED] == []


async def test_the_reader_starts_where_the_log_stands_and_takes_each_event_once(
    db: asyncpg.Connection, infra: Infra, chat: AppClient, users: Users
) -> None:
    await users.add("jake")
    general = await general_id(chat, users["jake"])
    await db.execute("SET search_path TO chat")
    wire = Wire(infra.redis_url)
    event = ChatEvent(general, '{"type": "chat.updated"}')
    _, payload = wire.encode(event)
    before = await q_live_events.record(db, "c", general, payload)
    settings = {"search_path": "chat"}
    async with asyncpg.create_pool(infra.database_url, server_settings=settings) as pool:
        log = EventLog(pool, wire, settle=0.0)
        assert await log.missed() == []  # where the log stands: earlier events are not news
        assert log.position is not None and log.position >= before
        after = await q_live_events.record(db, "c", general, payload)
        assert await log.missed() == [(after, event)]
        assert await log.missed() == []
        heard = await q_live_events.record(db, "c", general, payload)
        assert log.first_time(heard)  # pub/sub brought it first
        assert not log.first_time(heard)
        assert await log.missed() == []


async def test_a_message_is_not_recorded_in_the_log_its_seq_is_its_record(
    chat: AppClient, users: Users, db: asyncpg.Connection
) -> None:
    await users.add("jake", "anna")
    chat_id = await group_of(chat, users, "jake", "anna")
    await db.execute("SET search_path TO chat")
    # The chat's events only: anna's notification of being added is hers (scope 'u').
    before = await db.fetchval("SELECT count(*) FROM live_events WHERE scope = 'c'")
    message = await send(chat, users["jake"], chat_id, "hot path")
    assert await db.fetchval("SELECT count(*) FROM live_events WHERE scope = 'c'") == before
    edit = {"message": {"body": "edited"}}
    url = f"/api/chats/{chat_id}/messages/{message['id']}"
    assert (await chat.patch(url, json=edit, headers=users["jake"])).status == 200
    assert await db.fetchval("SELECT count(*) FROM live_events WHERE scope = 'c'") == before + 1
