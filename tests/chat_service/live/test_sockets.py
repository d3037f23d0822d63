"""A socket's writer: frames whole at every length, and a slow client closed without delaying the others."""

from __future__ import annotations

import asyncio
import contextlib
import socket as sockets_module

from chat_service.keys import HUB
from tests.chat_service.conftest import general_id, send
from tests.chat_service.helpers import Connect, Replicas, seqs
from tests.chat_service.live.helpers import raw_socket_that_never_reads
from tests.services import Users
from tests.typing import AppClient
from tests.waiting import until


async def test_a_slow_client_is_closed_without_delaying_the_others(
    replicas: Replicas, users: Users, sockets: Connect
) -> None:
    (replica,) = await replicas(1, CHAT_WS_QUEUE="8")
    await users.add("jake", "anna", "slow")
    general = await general_id(replica, users["jake"])
    await general_id(replica, users["slow"])
    anna = await sockets(replica, users["anna"])
    slow = await asyncio.to_thread(raw_socket_that_never_reads, replica, users["slow"])
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
