"""Fan-out across replicas and devices, and membership changes reaching live sockets."""

from __future__ import annotations

from tests.chat_service.conftest import general_id, group, send
from tests.chat_service.helpers import Connect, Replicas
from tests.services import Users
from tests.typing import AppClient


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
