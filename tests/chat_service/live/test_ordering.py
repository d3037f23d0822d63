"""Each chat's messages in seq order on every replica, whatever pub/sub loses or reorders."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from chat_service.live.wire import MessageCreated, Wire
from chat_service.queries import messages as q_messages
from devstack.embedded import start_valkey
from shared.data.redis import create_redis
from shared.web.jsoncodec import dumps
from tests.chat_service.conftest import general_id, send
from tests.chat_service.helpers import Connect, Replicas, seqs
from tests.infra import Infra
from tests.services import Users
from tests.typing import AppClient


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
