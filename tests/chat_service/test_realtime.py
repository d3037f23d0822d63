"""Websockets against real replicas: delivery across replicas and devices, resume, order,
recovery from lost publishes and a Redis restart, slow clients, and what a client may send."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import socket as sockets_module
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
import redis.asyncio as aioredis

from chat_service.keys import HUB
from chat_service.live.presence import Presence
from chat_service.live.wire import MessageCreated, Wire
from chat_service.queries import messages as q_messages
from devstack.embedded import start_valkey
from shared.data.redis import create_redis
from shared.transport.jsoncodec import dumps
from tests.chat_service.conftest import Socket, general_id, group, send
from tests.infra import Infra
from tests.services import Users, base_url
from tests.typing import AppClient
from tests.waiting import until

Replicas = Callable[..., Awaitable[list[AppClient]]]
Connect = Callable[..., Awaitable[Socket]]


def seqs(messages: list[dict[str, Any]]) -> list[int]:
    return [m["seq"] for m in messages]


async def test_a_message_sent_through_one_replica_reaches_a_socket_on_the_other(
    replicas: Replicas, users: Users, sockets: Connect
) -> None:
    a, b = await replicas(2)
    await users.add("jake", "anna")
    general = await general_id(a, users["jake"])
    anna = await sockets(b, users["anna"])

    sent = await send(a, users["jake"], general, "soup tonight?")

    (received,) = await anna.messages(1)
    assert received == sent


async def test_each_device_receives_each_event_once(
    replicas: Replicas, users: Users, sockets: Connect
) -> None:
    a, b = await replicas(2)
    await users.add("jake", "anna")
    general = await general_id(a, users["jake"])
    phone = await sockets(a, users["jake"])
    laptop = await sockets(b, users["jake"])

    for number in range(5):
        await send((a, b)[number % 2], users["anna"], general, f"message {number}")
    first = await send(a, users["anna"], general, "to be edited")
    await a.patch(
        f"/api/chats/{general}/messages/{first['id']}",
        json={"message": {"body": "edited"}},
        headers=users["anna"],
    )
    await b.delete(f"/api/chats/{general}/messages/{first['id']}", headers=users["anna"])

    for device in (phone, laptop):
        events = await device.quiet(1.0)
        kinds = [e["type"] for e in events]
        created = [e["data"]["seq"] for e in events if e["type"] == "message.created"]
        assert created == [1, 2, 3, 4, 5, 6]
        assert kinds.count("message.updated") == 1
        assert kinds.count("message.deleted") == 1


async def test_hello_shows_the_general_chat_and_where_each_chat_stands(
    chat: AppClient, users: Users, sockets: Connect
) -> None:
    await users.add("jake", "anna")
    general = await general_id(chat, users["jake"])
    soups = await group(chat, users["anna"])
    for number in range(25):
        await send(chat, users["jake"], general, f"general {number}")
    await chat.post(
        f"/api/chats/{soups['id']}/members", json={"username": "jake"}, headers=users["anna"]
    )
    await send(chat, users["anna"], soups["id"], "welcome")

    jake = await sockets(chat, users["jake"])

    assert seqs(jake.hello["general"]) == list(range(6, 26))  # the last 20, oldest first
    positions = {p["chatId"]: p for p in jake.hello["chats"]}
    assert positions[general] == {"chatId": general, "lastSeq": 25, "unreadCount": 0}
    assert positions[soups["id"]] == {"chatId": soups["id"], "lastSeq": 1, "unreadCount": 1}


async def test_resume_after_a_missed_stretch_returns_exactly_the_missing_messages(
    replicas: Replicas, users: Users, sockets: Connect
) -> None:
    a, b = await replicas(2)
    await users.add("jake", "anna")
    general = await general_id(a, users["jake"])
    jake = await sockets(a, users["jake"])
    for number in range(3):
        await send(a, users["anna"], general, f"seen {number}")
    assert seqs(await jake.messages(3)) == [1, 2, 3]
    await jake.ws.close()
    for number in range(5):
        await send(b, users["anna"], general, f"missed {number}")

    again = await sockets(b, users["jake"])
    await again.send({"type": "resume", "chatId": general, "afterSeq": 3})

    replayed = await again.messages(5)
    resumed = await again.until("resumed")
    await send(a, users["anna"], general, "live again")
    (live,) = await again.messages(1)
    assert seqs(replayed) == [4, 5, 6, 7, 8]
    assert resumed["data"] == {"chatId": general, "lastSeq": 8}
    assert live["seq"] == 9
    assert [e for e in await again.quiet(0.5) if e["type"] == "message.created"] == []


async def test_resume_while_messages_arrive_leaves_no_gap_and_no_duplicate(
    replicas: Replicas, users: Users, sockets: Connect
) -> None:
    a, b = await replicas(2)
    await users.add("jake", "anna")
    general = await general_id(a, users["jake"])
    for number in range(30):
        await send(a, users["anna"], general, f"before {number}")
    jake = await sockets(b, users["jake"])

    async def keep_sending() -> None:
        for number in range(30):
            await send((a, b)[number % 2], users["anna"], general, f"during {number}")

    sender = asyncio.create_task(keep_sending())
    await jake.send({"type": "resume", "chatId": general, "afterSeq": 0})
    await sender
    received = [e["data"]["seq"] for e in await jake.quiet(1.5) if e["type"] == "message.created"]
    assert sorted(received) == list(range(1, 61))


async def test_messages_published_out_of_order_are_delivered_in_seq_order(
    chat: AppClient, users: Users, sockets: Connect, infra: Infra, db: asyncpg.Connection
) -> None:
    await users.add("jake", "anna")
    general = await general_id(chat, users["jake"])
    await general_id(chat, users["anna"])
    jake = await sockets(chat, users["jake"])
    await db.execute("SET search_path TO chat")
    rows = [
        await q_messages.insert_message(db, general, users.ids["anna"], f"m{n}", None, 0)
        for n in range(1, 4)
    ]
    wire = Wire(infra.redis_url)
    redis = create_redis(infra.redis_url)
    try:
        # Two replicas committed seqs 1-3 and their publishes crossed: 3, 1, 2.
        for row in (rows[2], rows[0], rows[1]):
            text = dumps({"type": "message.created", "data": {"seq": row["seq"]}})
            await redis.publish(*wire.encode(MessageCreated(general, row["seq"], text)))
    finally:
        await redis.aclose()

    assert seqs(await jake.messages(3)) == [1, 2, 3]


async def test_a_message_whose_publish_never_came_is_delivered_from_the_database(
    replicas: Replicas, users: Users, sockets: Connect, db: asyncpg.Connection
) -> None:
    (replica,) = await replicas(1)
    await users.add("jake", "anna")
    general = await general_id(replica, users["jake"])
    await general_id(replica, users["anna"])
    jake = await sockets(replica, users["jake"])
    await db.execute("SET search_path TO chat")

    # Stored by a replica that died before it could publish.
    stored = await q_messages.insert_message(db, general, users.ids["anna"], "orphan", None, 0)

    (received,) = await jake.messages(1, timeout=5.0)
    assert (received["seq"], received["body"]) == (stored["seq"], "orphan")


async def test_a_redis_restart_while_sockets_are_open_loses_no_message(
    replicas: Replicas, users: Users, sockets: Connect, tmp_path: Path
) -> None:
    server, url = start_valkey(tmp_path / "valkey", persist=False)
    port = server.port
    try:
        a, b = await replicas(2, REDIS_URL=url)
        await users.add("jake", "anna")
        general = await general_id(a, users["jake"])
        jake = await sockets(b, users["jake"])
        await send(a, users["anna"], general, "before")
        assert seqs(await jake.messages(1)) == [1]

        server.stop()
        for number in range(3):  # stored while Redis is away; sending never fails for it
            await send(a, users["anna"], general, f"during {number}")
        server, _ = start_valkey(tmp_path / "valkey", port=port, persist=False)
        await send(a, users["anna"], general, "after")

        received = await jake.messages(4, timeout=15.0)
        assert seqs(received) == [2, 3, 4, 5]
        assert [e for e in await jake.quiet(0.5) if e["type"] == "message.created"] == []
    finally:
        server.stop()


def _raw_socket_that_never_reads(
    replica: AppClient, headers: dict[str, str]
) -> sockets_module.socket:
    """A websocket client that completes the handshake and then reads nothing, with a tiny
    receive buffer, so that the server's writes back up at once."""
    raw = sockets_module.socket()
    raw.setsockopt(sockets_module.SOL_SOCKET, sockets_module.SO_RCVBUF, 4096)
    raw.connect(("127.0.0.1", replica.server.port))
    key = base64.b64encode(os.urandom(16)).decode()
    identity = "".join(f"{k}: {v}\r\n" for k, v in headers.items() if k.startswith("X-"))
    raw.sendall(
        (
            "GET /api/chat/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"{identity}\r\n"
        ).encode()
    )
    raw.settimeout(5)
    assert raw.recv(12).startswith(b"HTTP/1.1 101")
    return raw


async def test_a_slow_client_is_closed_without_delaying_the_others(
    replicas: Replicas, users: Users, sockets: Connect
) -> None:
    (replica,) = await replicas(1, CHAT_WS_QUEUE="8")
    await users.add("jake", "anna", "slow")
    general = await general_id(replica, users["jake"])
    await general_id(replica, users["slow"])
    anna = await sockets(replica, users["anna"])
    slow = await asyncio.to_thread(_raw_socket_that_never_reads, replica, users["slow"])
    hub = replica.app[HUB]
    try:
        # Control characters travel escaped (\u0001): each frame is about 24 kB, so that
        # 250 of them outgrow what the kernel buffers for the stalled socket (4 MB at most).
        body = "\x01" * 3999 + "x"
        reading = asyncio.create_task(anna.messages(250, timeout=10))  # anna keeps up
        for _ in range(250):
            await send(replica, users["jake"], general, body)
        assert seqs(await reading) == list(range(1, 251))
        await until(lambda: users.ids["slow"] not in hub.registry.clients)  # closed, its queue gone
        # The server ended the connection: a close frame (1013) when the stalled socket still
        # took one, else a cut. Reading to the end would time out if it were still open.
        await asyncio.to_thread(_drain, slow)
    finally:
        slow.close()


def _drain(raw: sockets_module.socket) -> None:
    """Reads what the server sent until it ended the connection."""
    with contextlib.suppress(ConnectionResetError):
        while raw.recv(1 << 20):
            pass


async def test_a_socket_without_the_gateways_identity_is_refused(chat: AppClient) -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(f"{base_url(chat)}/api/chat/ws")
    assert refused.value.status == 401


# What a client may send: each bad frame gets an error event and the socket stays open.
BAD_FRAMES = [
    "not json",  # not JSON at all
    "[1, 2]",  # JSON, but not an object
    '{"type": "dance"}',  # an unknown event type
    '{"type": "typing"}',  # a typing event without its chat
    '{"type": "resume", "chatId": 1}',  # a resume without its seq
    '{"type": "resume", "chatId": "one", "afterSeq": 0}',  # a chat id that is not a number
    '{"type": "ping", "extra": true}',  # an unknown field
    '{"type": "resume", "chatId": 9223372036854775808, "afterSeq": 0}',  # beyond a bigint
]


@pytest.mark.parametrize("frame", BAD_FRAMES)
async def test_a_malformed_frame_gets_an_error_event_and_the_socket_lives(
    chat: AppClient, users: Users, sockets: Connect, frame: str
) -> None:
    await users.add("jake")
    jake = await sockets(chat, users["jake"])

    await jake.send(frame)
    error = await jake.until("error")
    await jake.send({"type": "ping"})

    assert error["data"]["message"]
    assert (await jake.until("pong"))["type"] == "pong"


async def test_a_binary_frame_gets_an_error_event(
    chat: AppClient, users: Users, sockets: Connect
) -> None:
    await users.add("jake")
    jake = await sockets(chat, users["jake"])
    await jake.ws.send_bytes(b"\x00\x01")
    assert (await jake.until("error"))["data"]["message"] == "frames must be JSON text"


async def test_a_frame_over_the_size_limit_closes_the_socket(
    replicas: Replicas, users: Users, sockets: Connect
) -> None:
    (replica,) = await replicas(1, CHAT_WS_MAX_MESSAGE_BYTES="1024")
    await users.add("jake")
    jake = await sockets(replica, users["jake"])
    await jake.send({"type": "ping", "pad": "x" * 2000})
    closing = await jake.ws.receive(timeout=5)
    assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert jake.ws.close_code == 1009  # message too big


async def test_nothing_a_client_sends_reaches_a_chat_it_is_not_in(
    chat: AppClient, users: Users, sockets: Connect
) -> None:
    await users.add("jake", "anna")
    secret = await group(chat, users["anna"], "Secret recipes", private=True)
    jake = await sockets(chat, users["jake"])
    anna = await sockets(chat, users["anna"])

    await jake.send({"type": "typing", "chatId": secret["id"]})
    await jake.send({"type": "resume", "chatId": secret["id"], "afterSeq": 0})
    await send(chat, users["anna"], secret["id"], "the secret")

    errors = [e for e in await jake.quiet(0.8)]
    assert [e["type"] for e in errors] == ["error", "error"]
    assert [e["type"] for e in await anna.quiet(0.3)] == ["message.created"]


async def test_typing_reaches_the_other_members_and_not_the_typist(
    replicas: Replicas, users: Users, sockets: Connect
) -> None:
    a, b = await replicas(2, CHAT_TYPING_INTERVAL="60")
    await users.add("jake", "anna")
    soups = await group(a, users["anna"], members=["jake"])
    anna = await sockets(a, users["anna"])
    jake = await sockets(b, users["jake"])

    await jake.send({"type": "typing", "chatId": soups["id"]})
    await jake.send({"type": "typing", "chatId": soups["id"]})  # within the interval: dropped

    typing = [e for e in await anna.quiet(0.8) if e["type"] == "typing"]
    assert [e["data"] for e in typing] == [{"chatId": soups["id"], "username": "jake"}]
    assert [e for e in await jake.quiet(0.2) if e["type"] == "typing"] == []


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


async def test_a_member_added_while_connected_gets_the_chat_live_at_once(
    replicas: Replicas, users: Users, sockets: Connect
) -> None:
    a, b = await replicas(2)
    await users.add("jake", "anna")
    soups = await group(a, users["anna"])
    await send(a, users["anna"], soups["id"], "before jake")
    jake = await sockets(b, users["jake"])

    await a.post(
        f"/api/chats/{soups['id']}/members", json={"username": "jake"}, headers=users["anna"]
    )
    joined = await jake.until("chat.member_joined")
    await send(a, users["anna"], soups["id"], "hello jake")

    (live,) = await jake.messages(1)
    assert joined["data"]["chatId"] == soups["id"]
    assert (live["seq"], live["body"]) == (2, "hello jake")


async def test_a_removed_member_hears_of_it_and_receives_nothing_more(
    replicas: Replicas, users: Users, sockets: Connect
) -> None:
    a, b = await replicas(2)
    await users.add("jake", "anna")
    soups = await group(a, users["anna"], members=["jake"])
    jake = await sockets(b, users["jake"])

    response = await a.delete(f"/api/chats/{soups['id']}/members/jake", headers=users["anna"])
    left = await jake.until("chat.member_left")
    await send(a, users["anna"], soups["id"], "without jake")

    assert response.status == 204
    assert left["data"]["chatId"] == soups["id"]
    assert [e for e in await jake.quiet(0.8) if e["type"] == "message.created"] == []


async def test_a_deleted_chat_is_announced_and_goes_quiet(
    chat: AppClient, users: Users, sockets: Connect
) -> None:
    await users.add("jake", "anna")
    soups = await group(chat, users["anna"], members=["jake"])
    jake = await sockets(chat, users["jake"])

    await chat.delete(f"/api/chats/{soups['id']}", headers=users["anna"])

    assert (await jake.until("chat.deleted"))["data"] == {"chatId": soups["id"]}
    await jake.send({"type": "typing", "chatId": soups["id"]})
    assert (await jake.until("error"))["data"]["message"] == "chat not found"


async def test_a_client_that_answers_no_ping_is_disconnected(
    replicas: Replicas, users: Users
) -> None:
    (replica,) = await replicas(1, CHAT_WS_HEARTBEAT="1")
    await users.add("jake")
    await general_id(replica, users["jake"])
    hub = replica.app[HUB]
    dead = await asyncio.to_thread(_raw_socket_that_never_reads, replica, users["jake"])
    try:
        await until(lambda: users.ids["jake"] in hub.registry.clients)
        await until(lambda: users.ids["jake"] not in hub.registry.clients, timeout=10)
    finally:
        dead.close()


async def test_frames_of_every_length_class_reach_the_client_whole(
    chat: AppClient, users: Users, sockets: Connect
) -> None:
    # Frames are built by hand (sockets.text_frame): short, 16-bit and 64-bit lengths.
    await users.add("jake", "anna")
    general = await general_id(chat, users["jake"])
    anna = await sockets(chat, users["anna"])
    bodies = ["a", "b" * 200, "\x01" * 3999 + "c"]  # escaped: about 24 kB of JSON
    for body in bodies:
        await send(chat, users["jake"], general, body)
    for _ in range(20):
        await send(chat, users["jake"], general, "\x01" * 4000)

    live = await anna.messages(23)
    late = await sockets(chat, users["jake"])  # its hello holds about 480 kB

    assert [m["body"] for m in live[:3]] == bodies
    assert [m["body"] for m in late.hello["general"]] == ["\x01" * 4000] * 20


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
