"""Resume: what a socket missed, without gap or duplicate where it meets live delivery."""

from __future__ import annotations

import asyncio

from tests.chat_service.conftest import general_id, send
from tests.chat_service.helpers import Connect, Replicas, seqs
from tests.services import Users


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
