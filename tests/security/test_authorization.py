"""Each authorization rule, tried by someone it is meant to keep out, through the gateway."""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.factories import call, signup


async def article_of(api: aiohttp.ClientSession, token: str) -> str:
    body = {"article": {"title": "Owned soup", "description": "mine", "body": "only mine"}}
    status, answer = await call(api, "POST", "/api/articles", token, json=body)
    assert status == 201, answer
    return str(answer["article"]["slug"])


async def general_of(api: aiohttp.ClientSession, token: str) -> int:
    status, body = await call(api, "GET", "/api/chats", token)
    assert status == 200, body
    return next(int(c["id"]) for c in body["chats"] if c["type"] == "general")


async def private_chat(api: aiohttp.ClientSession, token: str, title: str) -> int:
    body = {"chat": {"type": "group", "title": title, "private": True}}
    status, answer = await call(api, "POST", "/api/chats", token, json=body)
    assert status == 201, answer
    return int(answer["chat"]["id"])


async def upload(api: aiohttp.ClientSession, token: str) -> dict[str, Any]:
    form = aiohttp.FormData()
    form.add_field("file", b"secret recipe", filename="secret.txt", content_type="text/plain")
    status, answer = await call(api, "POST", "/api/chat/attachments", token, data=form)
    assert status == 201, answer
    return answer["attachment"]  # type: ignore[no-any-return]


async def test_another_users_article_cannot_be_updated_or_deleted(
    api: aiohttp.ClientSession,
) -> None:
    jake, anna = await signup(api, "jake"), await signup(api, "anna")
    slug = await article_of(api, jake["token"])

    update = {"article": {"body": "anna was here"}}
    updated, _ = await call(api, "PUT", f"/api/articles/{slug}", anna["token"], json=update)
    deleted, _ = await call(api, "DELETE", f"/api/articles/{slug}", anna["token"])
    status, after = await call(api, "GET", f"/api/articles/{slug}")

    assert (updated, deleted) == (403, 403)
    assert (status, after["article"]["body"]) == (200, "only mine")


async def test_another_users_comment_cannot_be_deleted(api: aiohttp.ClientSession) -> None:
    jake, anna = await signup(api, "jake"), await signup(api, "anna")
    slug = await article_of(api, anna["token"])
    status, comment = await call(
        api,
        "POST",
        f"/api/articles/{slug}/comments",
        jake["token"],
        json={"comment": {"body": "hi"}},
    )
    assert status == 200, comment
    comment_id = comment["comment"]["id"]

    # Not even the author of the article may delete someone else's comment.
    deleted, _ = await call(
        api, "DELETE", f"/api/articles/{slug}/comments/{comment_id}", anna["token"]
    )
    _, listing = await call(api, "GET", f"/api/articles/{slug}/comments")

    assert deleted == 403
    assert [c["id"] for c in listing["comments"]] == [comment_id]


async def test_another_members_chat_message_cannot_be_edited_or_deleted(
    api: aiohttp.ClientSession,
) -> None:
    jake, anna = await signup(api, "jake"), await signup(api, "anna")
    general = await general_of(api, jake["token"])
    status, sent = await call(
        api,
        "POST",
        f"/api/chats/{general}/messages",
        jake["token"],
        json={"message": {"body": "jake's words"}},
    )
    assert status == 201, sent
    path = f"/api/chats/{general}/messages/{sent['message']['id']}"

    edited, _ = await call(api, "PATCH", path, anna["token"], json={"message": {"body": "anna's"}})
    deleted, _ = await call(api, "DELETE", path, anna["token"])
    _, history = await call(api, "GET", f"/api/chats/{general}/messages", jake["token"])

    assert (edited, deleted) == (403, 403)
    mine = [m for m in history["messages"] if m["id"] == sent["message"]["id"]]
    assert [(m["body"], m["deleted"]) for m in mine] == [("jake's words", False)]


async def test_a_private_chat_its_members_history_and_files_are_hidden_from_outsiders(
    api: aiohttp.ClientSession,
) -> None:
    jake, anna = await signup(api, "jake"), await signup(api, "anna")
    chat = await private_chat(api, jake["token"], "Secret kitchen")
    attachment = await upload(api, jake["token"])
    status, sent = await call(
        api,
        "POST",
        f"/api/chats/{chat}/messages",
        jake["token"],
        json={"message": {"body": "the recipe", "attachmentId": attachment["id"]}},
    )
    assert status == 201, sent
    download = f"/api/chat/attachments/{attachment['id']}"
    owner_download, content = await call(api, "GET", download, jake["token"])
    assert (owner_download, content) == (200, b"secret recipe")

    # 404, not 403: an outsider must not even learn that the chat exists.
    outsider = {
        "chat and its members": await call(api, "GET", f"/api/chats/{chat}", anna["token"]),
        "history": await call(api, "GET", f"/api/chats/{chat}/messages", anna["token"]),
        "attachment": await call(api, "GET", download, anna["token"]),
        "join requests": await call(api, "GET", f"/api/chats/{chat}/join-requests", anna["token"]),
    }
    _, listing = await call(api, "GET", "/api/chats", anna["token"])

    assert {what: status for what, (status, _) in outsider.items()} == dict.fromkeys(outsider, 404)
    assert chat not in [c["id"] for c in listing["chats"]]


async def test_only_the_owner_of_the_chat_approves_its_join_requests(
    api: aiohttp.ClientSession,
) -> None:
    jake, anna, bob = await signup(api, "jake"), await signup(api, "anna"), await signup(api, "bob")
    jakes = await private_chat(api, jake["token"], "Jake's table")
    annas = await private_chat(api, anna["token"], "Anna's table")
    status, invite = await call(api, "POST", f"/api/chats/{jakes}/invites", jake["token"], json={})
    assert status == 201, invite
    status, joined = await call(
        api, "POST", f"/api/chats/join/{invite['invite']['code']}", bob["token"]
    )
    assert status == 202, joined
    request_id = joined["joinRequest"]["id"]

    # Anna owns a chat, but not this one; nor does this request belong to her chat.
    attempts = {
        "through jake's chat": await call(
            api, "POST", f"/api/chats/{jakes}/join-requests/{request_id}/approve", anna["token"]
        ),
        "through her own chat": await call(
            api, "POST", f"/api/chats/{annas}/join-requests/{request_id}/approve", anna["token"]
        ),
        "by the requester": await call(
            api, "POST", f"/api/chats/{jakes}/join-requests/{request_id}/approve", bob["token"]
        ),
    }
    seen_by_bob, _ = await call(api, "GET", f"/api/chats/{jakes}", bob["token"])
    _, pending = await call(api, "GET", f"/api/chats/{jakes}/join-requests", jake["token"])

    assert {what: s for what, (s, _) in attempts.items()} == {
        "through jake's chat": 404,
        "through her own chat": 404,
        "by the requester": 404,
    }
    assert seen_by_bob == 404
    assert [(r["id"], r["status"]) for r in pending["joinRequests"]] == [(request_id, "pending")]
