"""Invite links and join requests: public chats open at once, private ones on the owner's word."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from chat_service.schemas.common import MAX_TTL
from tests.chat_service.conftest import Socket, group
from tests.chat_service.helpers import Replicas
from tests.factories import DEFAULT_IMAGE
from tests.services import Users
from tests.typing import AppClient

OpenSocket = Callable[[AppClient, dict[str, str]], Awaitable[Socket]]


async def create_invite(
    client: AppClient, owner: dict[str, str], chat_id: int, **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        f"/api/chats/{chat_id}/invites", json={"invite": fields}, headers=owner
    )
    assert response.status == 201, await response.text()
    return (await response.json())["invite"]  # type: ignore[no-any-return]


async def join(client: AppClient, headers: dict[str, str], code: str) -> tuple[int, Any]:
    response = await client.post(f"/api/chats/join/{code}", headers=headers)
    return response.status, await response.json()


async def request_to_join(
    client: AppClient, users: Users, owner: str, requester: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The owner's private chat and the requester's pending join request to it."""
    secret = await group(client, users[owner], "Secret", private=True)
    invite = await create_invite(client, users[owner], secret["id"])
    status, body = await join(client, users[requester], invite["code"])
    assert status == 202, body
    return secret, body["joinRequest"]


async def decide(
    client: AppClient, headers: dict[str, str], chat_id: int, request_id: int, decision: str
) -> tuple[int, Any]:
    response = await client.post(
        f"/api/chats/{chat_id}/join-requests/{request_id}/{decision}", headers=headers
    )
    return response.status, await response.json()


async def is_member(client: AppClient, headers: dict[str, str], chat_id: int) -> bool:
    response = await client.get(f"/api/chats/{chat_id}", headers=headers)
    assert response.status in (200, 404), await response.text()
    return response.status == 200


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# Creating invite links.


async def test_the_owner_creates_an_invite_link(chat: AppClient, users: Users) -> None:
    await users.add("jake")
    soups = await group(chat, users["jake"])
    response = await chat.post(
        f"/api/chats/{soups['id']}/invites", json={"invite": {}}, headers=users["jake"]
    )
    assert response.status == 201
    invite = (await response.json())["invite"]
    assert set(invite) == {"code", "url", "expiresAt"}
    # The web client's page, which a browser opens (the code is URL-safe as it is).
    assert invite["url"] == f"http://127.0.0.1:8080/join/{invite['code']}"
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", invite["code"])
    # A week unless told otherwise.
    expected = datetime.now(UTC) + timedelta(days=7)
    assert abs(moment(invite["expiresAt"]) - expected) < timedelta(seconds=10)


@pytest.mark.parametrize(
    ("seconds", "message"),
    [
        # Beyond the document's bound (a schemathesis run found it undocumented).
        (11688443542699610472448, "must be greater than or equal to 60 and less than"),
        (MAX_TTL + 1, "must be greater than or equal to 60 and less than"),
        # Within it, beyond CHAT_INVITE_MAX_TTL (30 days by default).
        (MAX_TTL, "must be at most 2592000"),
    ],
)
async def test_an_invite_beyond_its_longest_life_is_422(
    chat: AppClient, users: Users, seconds: int, message: str
) -> None:
    await users.add("jake")
    soups = await group(chat, users["jake"])
    response = await chat.post(
        f"/api/chats/{soups['id']}/invites",
        json={"invite": {"expiresInSeconds": seconds}},
        headers=users["jake"],
    )
    assert response.status == 422
    errors = (await response.json())["errors"]
    assert set(errors) == {"body", "expiresInSeconds"}
    assert errors["expiresInSeconds"][0].lower().startswith(message) or seconds > 2**63


async def test_an_invite_link_lives_as_long_as_asked(chat: AppClient, users: Users) -> None:
    await users.add("jake")
    soups = await group(chat, users["jake"])
    invite = await create_invite(chat, users["jake"], soups["id"], expiresInSeconds=3600)
    expected = datetime.now(UTC) + timedelta(hours=1)
    assert abs(moment(invite["expiresAt"]) - expected) < timedelta(seconds=10)


async def test_invite_codes_are_long_and_never_repeat(chat: AppClient, users: Users) -> None:
    await users.add("jake")
    soups = await group(chat, users["jake"])
    codes = {(await create_invite(chat, users["jake"], soups["id"]))["code"] for _ in range(5)}
    assert len(codes) == 5
    # 24 random bytes: too many to guess.
    assert all(len(code) >= 32 for code in codes)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        # Under a minute.
        ({"expiresInSeconds": 59}, "expiresInSeconds"),
        # Over the longest lifetime (30 days).
        ({"expiresInSeconds": 30 * 86400 + 1}, "expiresInSeconds"),
        # Not a number.
        ({"expiresInSeconds": "a week"}, "expiresInSeconds"),
        # A field the API does not know.
        ({"uses": 3}, "uses"),
    ],
)
async def test_an_invite_with_bad_fields_is_422(
    chat: AppClient, users: Users, fields: dict[str, Any], field: str
) -> None:
    await users.add("jake")
    soups = await group(chat, users["jake"])
    response = await chat.post(
        f"/api/chats/{soups['id']}/invites", json={"invite": fields}, headers=users["jake"]
    )
    assert response.status == 422
    assert field in (await response.json())["errors"]


# Joining.


async def test_joining_a_public_chat_makes_me_a_member_at_once(
    chat: AppClient, users: Users
) -> None:
    await users.add("jake", "anna")
    soups = await group(chat, users["jake"])
    invite = await create_invite(chat, users["jake"], soups["id"])
    status, body = await join(chat, users["anna"], invite["code"])
    assert status == 200
    assert (body["chat"]["id"], body["chat"]["title"]) == (soups["id"], "Soups")
    response = await chat.get(f"/api/chats/{soups['id']}", headers=users["jake"])
    members = (await response.json())["chat"]["members"]
    assert [(m["username"], m["role"]) for m in members] == [("jake", "owner"), ("anna", "member")]


async def test_joining_a_chat_i_am_in_answers_the_chat(chat: AppClient, users: Users) -> None:
    await users.add("jake")
    secret = await group(chat, users["jake"], private=True)
    invite = await create_invite(chat, users["jake"], secret["id"])
    status, body = await join(chat, users["jake"], invite["code"])
    assert (status, body["chat"]["id"]) == (200, secret["id"])


async def test_joining_a_private_chat_files_a_pending_request(
    chat: AppClient, users: Users
) -> None:
    await users.add("jake", "anna")
    secret = await group(chat, users["jake"], private=True)
    invite = await create_invite(chat, users["jake"], secret["id"])
    status, body = await join(chat, users["anna"], invite["code"])
    assert status == 202
    request = body["joinRequest"]
    assert request.pop("createdAt").endswith("Z")
    assert isinstance(request.pop("id"), int)
    assert request == {
        "chatId": secret["id"],
        "user": {"username": "anna", "image": DEFAULT_IMAGE},
        "status": "pending",
    }
    assert not await is_member(chat, users["anna"], secret["id"])


async def test_the_owner_lists_pending_join_requests(chat: AppClient, users: Users) -> None:
    await users.add("jake", "anna")
    secret, request = await request_to_join(chat, users, "jake", "anna")
    response = await chat.get(f"/api/chats/{secret['id']}/join-requests", headers=users["jake"])
    assert response.status == 200
    assert await response.json() == {"joinRequests": [request]}


async def test_joining_again_while_pending_answers_the_same_request(
    chat: AppClient, users: Users
) -> None:
    await users.add("jake", "anna")
    secret = await group(chat, users["jake"], private=True)
    invite = await create_invite(chat, users["jake"], secret["id"])
    _, first = await join(chat, users["anna"], invite["code"])
    status, again = await join(chat, users["anna"], invite["code"])
    assert status == 200
    assert again == first
    response = await chat.get(f"/api/chats/{secret['id']}/join-requests", headers=users["jake"])
    assert len((await response.json())["joinRequests"]) == 1


async def test_approving_a_request_makes_the_requester_a_member(
    chat: AppClient, users: Users
) -> None:
    await users.add("jake", "anna")
    secret, request = await request_to_join(chat, users, "jake", "anna")
    status, body = await decide(chat, users["jake"], secret["id"], request["id"], "approve")
    assert status == 200
    assert body["joinRequest"] == {**request, "status": "approved"}
    assert await is_member(chat, users["anna"], secret["id"])
    response = await chat.get(f"/api/chats/{secret['id']}/join-requests", headers=users["jake"])
    assert (await response.json())["joinRequests"] == []


async def test_rejecting_a_request_leaves_the_requester_outside(
    chat: AppClient, users: Users
) -> None:
    await users.add("jake", "anna")
    secret, request = await request_to_join(chat, users, "jake", "anna")
    status, body = await decide(chat, users["jake"], secret["id"], request["id"], "reject")
    assert status == 200
    assert body["joinRequest"]["status"] == "rejected"
    assert not await is_member(chat, users["anna"], secret["id"])


async def test_after_a_rejection_a_new_request_waits_for_the_retry_period(
    chat: AppClient, users: Users
) -> None:
    await users.add("jake", "anna")
    secret, request = await request_to_join(chat, users, "jake", "anna")
    await decide(chat, users["jake"], secret["id"], request["id"], "reject")
    invite = await create_invite(chat, users["jake"], secret["id"])
    response = await chat.post(f"/api/chats/join/{invite['code']}", headers=users["anna"])
    assert response.status == 429
    assert 86300 < int(response.headers["Retry-After"]) <= 86400
    pending = await chat.get(f"/api/chats/{secret['id']}/join-requests", headers=users["jake"])
    assert (await pending.json())["joinRequests"] == []


async def test_after_the_retry_period_a_new_request_can_be_filed(
    replicas: Replicas, users: Users
) -> None:
    (chat,) = await replicas(1, CHAT_JOIN_RETRY_AFTER="0")
    await users.add("jake", "anna")
    secret, request = await request_to_join(chat, users, "jake", "anna")
    await decide(chat, users["jake"], secret["id"], request["id"], "reject")
    invite = await create_invite(chat, users["jake"], secret["id"])
    status, body = await join(chat, users["anna"], invite["code"])
    assert status == 202
    assert body["joinRequest"]["status"] == "pending"
    assert body["joinRequest"]["id"] != request["id"]


@pytest.mark.parametrize("decision", ["approve", "reject"])
async def test_a_decided_request_cannot_be_decided_again(
    chat: AppClient, users: Users, decision: str
) -> None:
    await users.add("jake", "anna")
    secret, request = await request_to_join(chat, users, "jake", "anna")
    await decide(chat, users["jake"], secret["id"], request["id"], "approve")
    status, _ = await decide(chat, users["jake"], secret["id"], request["id"], decision)
    assert status == 404


async def test_approving_and_rejecting_at_once_settles_the_request_once(
    chat: AppClient, users: Users
) -> None:
    await users.add("jake", "anna")
    secret, request = await request_to_join(chat, users, "jake", "anna")
    (approved, _), (rejected, _) = await asyncio.gather(
        decide(chat, users["jake"], secret["id"], request["id"], "approve"),
        decide(chat, users["jake"], secret["id"], request["id"], "reject"),
    )
    assert sorted([approved, rejected]) == [200, 404]
    assert await is_member(chat, users["anna"], secret["id"]) == (approved == 200)


@pytest.mark.parametrize("decision", ["approve", "reject"])
async def test_deciding_a_request_to_a_chat_i_do_not_own_is_404(
    chat: AppClient, users: Users, decision: str
) -> None:
    await users.add("jake", "anna", "bob")
    secret, request = await request_to_join(chat, users, "jake", "anna")
    # bob owns a chat of his own, and is a member of jake's: neither lets him decide.
    mine = await group(chat, users["bob"], "Mine")
    await chat.post(
        f"/api/chats/{secret['id']}/members", json={"username": "bob"}, headers=users["jake"]
    )
    for chat_id in (secret["id"], mine["id"]):
        status, _ = await decide(chat, users["bob"], chat_id, request["id"], decision)
        assert status == 404
    assert not await is_member(chat, users["anna"], secret["id"])


async def test_a_request_is_decided_only_under_its_own_chat(chat: AppClient, users: Users) -> None:
    await users.add("jake", "anna")
    _secret, request = await request_to_join(chat, users, "jake", "anna")
    other = await group(chat, users["jake"], "Other")
    status, _ = await decide(chat, users["jake"], other["id"], request["id"], "approve")
    assert status == 404
    assert not await is_member(chat, users["anna"], other["id"])


@pytest.mark.parametrize(
    "code",
    [
        # Made up.
        "not-a-real-code",
        # The right length, wrong all the same.
        "A" * 32,
    ],
)
async def test_a_wrong_code_is_404(chat: AppClient, users: Users, code: str) -> None:
    await users.add("anna")
    status, body = await join(chat, users["anna"], code)
    assert status == 404
    assert body["errors"]["body"] == ["this invite link is wrong or has expired"]


async def test_an_expired_code_is_404(
    chat: AppClient, users: Users, db: asyncpg.Connection
) -> None:
    await users.add("jake", "anna")
    soups = await group(chat, users["jake"])
    invite = await create_invite(chat, users["jake"], soups["id"])
    await db.execute(
        "UPDATE chat.chat_invites SET expires_at = now() - interval '1 second' WHERE chat_id = $1",
        soups["id"],
    )
    status, _ = await join(chat, users["anna"], invite["code"])
    assert status == 404
    assert not await is_member(chat, users["anna"], soups["id"])


async def test_the_database_never_holds_a_usable_code(
    chat: AppClient, users: Users, db: asyncpg.Connection
) -> None:
    await users.add("jake")
    soups = await group(chat, users["jake"])
    invite = await create_invite(chat, users["jake"], soups["id"])
    stored = await db.fetchval("SELECT code_hash FROM chat.chat_invites")
    assert invite["code"] not in stored


async def test_a_deleted_chats_code_is_404(chat: AppClient, users: Users) -> None:
    await users.add("jake", "anna")
    soups = await group(chat, users["jake"])
    invite = await create_invite(chat, users["jake"], soups["id"])
    await chat.delete(f"/api/chats/{soups['id']}", headers=users["jake"])
    status, _ = await join(chat, users["anna"], invite["code"])
    assert status == 404


# Who learns what, live.


async def test_the_owner_learns_of_a_request_on_their_socket(
    chat: AppClient, users: Users, sockets: OpenSocket
) -> None:
    await users.add("jake", "anna")
    jake = await sockets(chat, users["jake"])
    _, request = await request_to_join(chat, users, "jake", "anna")
    event = await jake.until("chat.join_requested")
    assert event["data"] == request


async def test_repeated_requests_tell_the_owner_once(
    replicas: Replicas, users: Users, sockets: OpenSocket
) -> None:
    # The flood of issue 23: seven requests from one pending user, through two replicas.
    a, b = await replicas(2)
    await users.add("jake", "anna")
    jake = await sockets(a, users["jake"])
    secret = await group(a, users["jake"], "Secret", private=True)
    invite = await create_invite(a, users["jake"], secret["id"])
    answers = [await join((a, b)[n % 2], users["anna"], invite["code"]) for n in range(7)]

    assert [status for status, _ in answers] == [202] + [200] * 6
    assert len({body["joinRequest"]["id"] for _, body in answers}) == 1
    await jake.until("chat.join_requested")
    assert [e for e in await jake.quiet(1.0) if e["type"] == "chat.join_requested"] == []


async def test_the_owner_lists_and_revokes_invite_links(chat: AppClient, users: Users) -> None:
    await users.add("jake", "anna", "ben")
    soups = await group(chat, users["jake"])
    first = await create_invite(chat, users["jake"], soups["id"])
    second = await create_invite(chat, users["jake"], soups["id"])
    listed = await chat.get(f"/api/chats/{soups['id']}/invites", headers=users["jake"])
    links = (await listed.json())["invites"]

    by_code = await chat.delete(
        f"/api/chats/{soups['id']}/invites/{first['code']}", headers=users["jake"]
    )
    by_id = await chat.delete(
        f"/api/chats/{soups['id']}/invites/{links[1]['id']}", headers=users["jake"]
    )

    assert listed.status == 200
    assert [link["expiresAt"] for link in links] == [first["expiresAt"], second["expiresAt"]]
    assert all(first["code"] not in str(link) for link in links)  # never the usable code
    assert links[0]["createdBy"]["username"] == "jake"
    assert (by_code.status, by_id.status) == (204, 204)
    assert (await join(chat, users["anna"], first["code"]))[0] == 404
    assert (await join(chat, users["ben"], second["code"]))[0] == 404
    after = await chat.get(f"/api/chats/{soups['id']}/invites", headers=users["jake"])
    assert (await after.json())["invites"] == []


async def test_only_the_owner_lists_or_revokes_links(chat: AppClient, users: Users) -> None:
    await users.add("jake", "anna", "ben")
    soups = await group(chat, users["jake"])
    invite = await create_invite(chat, users["jake"], soups["id"])
    await join(chat, users["anna"], invite["code"])
    path = f"/api/chats/{soups['id']}/invites"

    member_list = await chat.get(path, headers=users["anna"])
    member_revoke = await chat.delete(f"{path}/{invite['code']}", headers=users["anna"])
    outsider_list = await chat.get(path, headers=users["ben"])
    unknown = await chat.delete(f"{path}/not-a-code", headers=users["jake"])

    assert (member_list.status, member_revoke.status) == (403, 403)
    assert outsider_list.status == 404
    assert unknown.status == 404
    assert (await join(chat, users["ben"], invite["code"]))[0] == 200


@pytest.mark.parametrize(("decision", "status"), [("approve", "approved"), ("reject", "rejected")])
async def test_the_requester_learns_the_decision_on_their_socket(
    chat: AppClient, users: Users, sockets: OpenSocket, decision: str, status: str
) -> None:
    await users.add("jake", "anna")
    secret, request = await request_to_join(chat, users, "jake", "anna")
    anna = await sockets(chat, users["anna"])
    await decide(chat, users["jake"], secret["id"], request["id"], decision)
    event = await anna.until("chat.join_decided")
    assert event["data"] == {**request, "status": status}


async def test_an_approved_requester_receives_the_chats_messages_live(
    chat: AppClient, users: Users, sockets: OpenSocket
) -> None:
    await users.add("jake", "anna")
    secret, request = await request_to_join(chat, users, "jake", "anna")
    anna = await sockets(chat, users["anna"])
    await decide(chat, users["jake"], secret["id"], request["id"], "approve")
    await anna.until("chat.join_decided")
    response = await chat.post(
        f"/api/chats/{secret['id']}/messages",
        json={"message": {"body": "welcome"}},
        headers=users["jake"],
    )
    assert response.status == 201
    (message,) = await anna.messages(1)
    assert (message["chatId"], message["body"]) == (secret["id"], "welcome")
