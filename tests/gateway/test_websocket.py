"""gateway/websocket.py: websockets tunnelled to chat, their frames and close codes, closed when
their session ends."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp import WSMsgType

from shared.contracts.revocation import Ended, announce
from tests.gateway.conftest import Echo, GatewayFactory
from tests.typing import AppClient


def _token(echoes: dict[str, Echo]) -> str:
    return echoes["auth"].keys.issue(7, "jake", "s").token


async def test_websocket_frames_pass_both_ways_with_the_token_in_the_query(
    gateway: AppClient, echoes: dict[str, Echo]
) -> None:
    async with gateway.ws_connect(f"/api/chat/ws?token={_token(echoes)}&device=phone") as ws:
        await ws.send_str("hello")
        assert (await ws.receive()).data == "echo:hello"
        await ws.send_bytes(b"abc")
        assert (await ws.receive()).data == b"cba"
    seen = echoes["chat"].seen[-1]
    assert seen["headers"]["X-User-Id"] == "7"
    assert "token=" not in seen["path"] and "device=phone" in seen["path"]


async def test_a_close_code_from_the_service_reaches_the_client(
    gateway: AppClient, echoes: dict[str, Echo]
) -> None:
    async with gateway.ws_connect(f"/api/chat/ws?token={_token(echoes)}") as ws:
        await ws.send_str("close:4001")
        message = await ws.receive()
        assert message.type is WSMsgType.CLOSE
        assert message.data == 4001


async def test_a_close_code_from_the_client_reaches_the_service(
    gateway: AppClient, echoes: dict[str, Echo]
) -> None:
    ws = await gateway.ws_connect(f"/api/chat/ws?token={_token(echoes)}")
    await ws.send_str("ping")
    await ws.receive()
    await ws.close(code=4000)
    for _ in range(50):
        if echoes["chat"].ws_close_codes:
            break
        await asyncio.sleep(0.02)
    assert echoes["chat"].ws_close_codes == [4000]


async def test_open_websockets_are_not_capped_by_the_connection_pool(
    make_gateway: GatewayFactory, echoes: dict[str, Echo]
) -> None:
    # A websocket holds its connection for hours: the pool of pooled HTTP calls must not
    # bound how many can be open through one gateway.
    gateway = await make_gateway(UPSTREAM_POOL_SIZE="2")
    sockets = [await gateway.ws_connect(f"/api/chat/ws?token={_token(echoes)}") for _ in range(6)]
    try:
        for number, ws in enumerate(sockets):
            await ws.send_str(f"n{number}")
        assert [(await ws.receive(timeout=5)).data for ws in sockets] == [
            f"echo:n{number}" for number in range(6)
        ]
    finally:
        for ws in sockets:
            await ws.close()


async def test_many_frames_in_a_burst_arrive_whole_and_in_order(
    gateway: AppClient, echoes: dict[str, Echo]
) -> None:
    async with gateway.ws_connect(f"/api/chat/ws?token={_token(echoes)}") as ws:
        for number in range(500):
            await ws.send_str(f"{number}:" + "x" * 3000)
        received = [(await ws.receive(timeout=5)).data for _ in range(500)]
    assert received == [f"echo:{number}:" + "x" * 3000 for number in range(500)]


async def test_frames_the_service_sends_right_after_the_upgrade_reach_the_client(
    gateway: AppClient, echoes: dict[str, Echo]
) -> None:
    # They may come in the same read as the answer to the handshake, before the client's
    # connection is upgraded: they are held and sent after the 101, in order.
    async with gateway.ws_connect(f"/api/chat/ws?token={_token(echoes)}&greet=20") as ws:
        received = [(await ws.receive(timeout=5)).data for _ in range(20)]
        await ws.send_str("then")
        assert (await ws.receive(timeout=5)).data == "echo:then"
    assert received == [f"greeting {number}" for number in range(20)]


async def test_a_websocket_without_a_token_is_refused_before_the_upgrade(
    gateway: AppClient, echoes: dict[str, Echo]
) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await gateway.ws_connect("/api/chat/ws")
    assert refused.value.status == 401
    assert not echoes["chat"].seen


async def test_ending_a_session_closes_its_open_websockets(
    gateway: AppClient, echoes: dict[str, Echo], redis: aioredis.Redis
) -> None:
    ended = echoes["auth"].keys.issue(7, "jake", "ending")
    other = echoes["auth"].keys.issue(7, "jake", "staying")
    async with (
        gateway.ws_connect(f"/api/chat/ws?token={ended.token}") as closing,
        gateway.ws_connect(f"/api/chat/ws?token={other.token}") as staying,
    ):
        await closing.send_str("hello")
        assert (await closing.receive()).data == "echo:hello"
        await announce(redis, [Ended("ending", ended.expires_at)])
        # Signed out: the connection goes at once, not when the client next sends.
        message = await closing.receive(timeout=5)
        assert message.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.ERROR)
        # Another session of the same user keeps its socket.
        await staying.send_str("still")
        assert (await staying.receive(timeout=5)).data == "echo:still"
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await gateway.ws_connect(f"/api/chat/ws?token={ended.token}")
    assert refused.value.status == 401
