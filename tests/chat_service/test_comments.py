"""Comments on messages."""

from __future__ import annotations

from tests.chat_service.conftest import general_id, group, send
from tests.chat_service.helpers import Connect, Replicas, history
from tests.services import Users


async def test_a_comment_joins_the_thread_counts_and_reaches_the_members(
    replicas: Replicas, users: Users, sockets: Connect
) -> None:
    a, b = await replicas(2)
    await users.add("jake", "anna", "eve")
    general = await general_id(a, users["jake"])
    soups = await group(a, users["jake"], members=["anna"])
    message = await send(a, users["jake"], soups["id"], "what goes in a minestrone?")
    jake = await sockets(b, users["jake"])
    path = f"/api/chats/{soups['id']}/messages/{message['id']}/comments"

    added = await a.post(path, json={"comment": {"body": "beans"}}, headers=users["anna"])
    event = await jake.until("comment.created")
    thread = await (await b.get(path, headers=users["jake"])).json()
    by_eve = await a.post(path, json={"comment": {"body": "hi"}}, headers=users["eve"])
    elsewhere = await a.get(
        f"/api/chats/{general}/messages/{message['id']}/comments", headers=users["jake"]
    )
    (shown,) = await history(a, users["jake"], soups["id"])

    comment = (await added.json())["comment"]
    assert added.status == 201
    assert comment["messageId"] == message["id"]
    assert comment["author"]["username"] == "anna"
    assert event["data"]["chatId"] == soups["id"]
    assert event["data"]["seq"] == message["seq"]
    assert event["data"]["comment"] == comment
    assert thread["comments"] == [comment]
    assert shown["commentsCount"] == 1
    assert (by_eve.status, elsewhere.status) == (404, 404)
