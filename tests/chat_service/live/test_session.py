"""A device's websocket: the hello, who may connect, what a client may send, typing and heartbeats."""

from __future__ import annotations

import asyncio
import base64
import os

import aiohttp
import pytest

from chat_service.keys import HUB
from tests.chat_service.conftest import general_id, group, send
from tests.chat_service.helpers import Connect, Replicas, seqs
from tests.chat_service.live.helpers import raw_socket_that_never_reads
from tests.services import Users, base_url
from tests.typing import AppClient
from tests.waiting import until


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


async def test_a_socket_without_the_gateways_identity_is_refused(chat: AppClient) -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(f"{base_url(chat)}/api/chat/ws")
    assert refused.value.status == 401


@pytest.mark.parametrize("version", ["7", "8", "12", ""])
async def test_a_handshake_of_another_websocket_version_is_400_naming_13(
    chat: AppClient, users: Users, version: str
) -> None:
    # A schemathesis run found version 7 (a draft, which aiohttp takes) upgraded, where the
    # document names 13 only.
    await users.add("jake")
    handshake = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
        "Sec-WebSocket-Version": version,
    }
    response = await chat.get("/api/chat/ws", headers={**users["jake"], **handshake})
    assert response.status == 400
    assert response.headers["Sec-WebSocket-Version"] == "13"
    assert (await response.json())["errors"]["body"]


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


async def test_a_client_that_answers_no_ping_is_disconnected(
    replicas: Replicas, users: Users
) -> None:
    (replica,) = await replicas(1, CHAT_WS_HEARTBEAT="1")
    await users.add("jake")
    await general_id(replica, users["jake"])
    hub = replica.app[HUB]
    dead = await asyncio.to_thread(raw_socket_that_never_reads, replica, users["jake"])
    try:
        await until(lambda: users.ids["jake"] in hub.registry.clients)
        await until(lambda: users.ids["jake"] not in hub.registry.clients, timeout=10)
    finally:
        dead.close()


async def test_a_client_that_answers_pings_stays_connected_over_many_intervals(
    replicas: Replicas, users: Users, sockets: Connect
) -> None:
    (replica,) = await replicas(1, CHAT_WS_HEARTBEAT="1")
    await users.add("jake", "anna")
    general = await general_id(replica, users["jake"])
    anna = await sockets(replica, users["anna"])
    reading = asyncio.create_task(anna.next(timeout=30))  # aiohttp answers pings as it reads
    await asyncio.sleep(3.5)  # three intervals or more: pinged, and answered, each time
    assert not reading.done()
    assert users.ids["anna"] in replica.app[HUB].registry.clients
    await send(replica, users["jake"], general, "still there")
    event = await reading
    assert (event["type"], event["data"]["body"]) == ("message.created", "still there")
