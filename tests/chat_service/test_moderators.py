"""Moderators and admins: the report queue, bans by hand, lifting them, removing messages of
the general chat, roles, and the audit log that records each action. Everyone else: 403."""

from __future__ import annotations

import base64
import json
from typing import Any

import asyncpg
import pytest

from tests.chat_service.conftest import general_id, group, send
from tests.chat_service.helpers import Connect, Replicas
from tests.factories import as_user
from tests.services import Users
from tests.typing import AppClient
from tests.waiting import until


async def promote(users: Users, name: str, role: str) -> None:
    """Sets the role in auth (as `make admin` does) and signs the user in again, so that their
    token, and the headers the gateway sends, carry it."""
    response = await users.auth.put(f"/internal/users/{name}/role", json={"role": role})
    assert response.status == 200, await response.text()
    login = await users.auth.post(
        "/api/users/login",
        json={"user": {"email": f"{name}@example.com", "password": "jakejake1"}},
    )
    assert login.status == 200, await login.text()
    users.headers[name] = as_user((await login.json())["user"])


async def staff(users: Users) -> None:
    """troll and anna (users), mod (a moderator) and boss (an admin)."""
    await users.add("troll", "anna", "mod", "boss")
    await promote(users, "mod", "moderator")
    await promote(users, "boss", "admin")


async def entries(client: AppClient, users: Users) -> list[dict[str, Any]]:
    response = await client.get("/api/moderation/log", headers=users["mod"])
    assert response.status == 200, await response.text()
    return (await response.json())["entries"]  # type: ignore[no-any-return]


async def report(client: AppClient, users: Users, reporter: str, target: str) -> int:
    response = await client.post(
        f"/api/users/{target}/report", json={"reason": "spam"}, headers=users[reporter]
    )
    assert response.status == 201, await response.text()
    return (await response.json())["report"]["id"]  # type: ignore[no-any-return]


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))  # type: ignore[no-any-return]


READS = [
    ("GET", "/api/moderation/reports", None),
    ("GET", "/api/moderation/bans", None),
    ("GET", "/api/moderation/log", None),
]


@pytest.mark.parametrize(("method", "path", "body"), READS)
async def test_moderators_and_admins_read_what_users_may_not(
    chat: AppClient, users: Users, method: str, path: str, body: Any
) -> None:
    await staff(users)
    as_user_ = await chat.request(method, path, json=body, headers=users["anna"])
    as_moderator = await chat.request(method, path, json=body, headers=users["mod"])
    as_admin = await chat.request(method, path, json=body, headers=users["boss"])
    assert (as_user_.status, as_moderator.status, as_admin.status) == (403, 200, 200)


@pytest.mark.parametrize("actor", ["mod", "boss"])
async def test_each_write_is_refused_to_users_and_allowed_to_moderators_and_admins(
    chat: AppClient, users: Users, actor: str
) -> None:
    await staff(users)
    general = await general_id(chat, users["troll"])
    message = await send(chat, users["troll"], general, "buy now")
    report_id = await report(chat, users, "anna", "troll")
    ban = {"ban": {"username": "troll", "seconds": 60, "reason": "spam"}}
    writes: list[tuple[str, str, Any, int]] = [
        ("POST", f"/api/moderation/reports/{report_id}/resolve", {"action": "uphold"}, 200),
        ("POST", "/api/moderation/bans", ban, 201),
        ("DELETE", "/api/moderation/bans/troll", None, 204),
        ("DELETE", f"/api/chats/{general}/messages/{message['id']}", None, 204),
    ]
    for method, path, body, status in writes:
        refused = await chat.request(method, path, json=body, headers=users["anna"])
        allowed = await chat.request(method, path, json=body, headers=users[actor])
        assert (path, refused.status, allowed.status) == (path, 403, status)
    actions = [entry["action"] for entry in await entries(chat, users)]
    assert actions == ["message.delete", "ban.lift", "ban", "report.uphold"]


async def test_only_admins_change_roles_and_a_change_ends_the_users_sessions(
    chat: AppClient, users: Users, db: asyncpg.Connection
) -> None:
    await staff(users)
    body = {"role": "moderator"}
    by_user = await chat.put("/api/moderation/users/anna/role", json=body, headers=users["anna"])
    by_moderator = await chat.put(
        "/api/moderation/users/anna/role", json=body, headers=users["mod"]
    )
    by_admin = await chat.put("/api/moderation/users/anna/role", json=body, headers=users["boss"])
    unknown = await chat.put("/api/moderation/users/nobody/role", json=body, headers=users["boss"])
    wrong = await chat.put(
        "/api/moderation/users/anna/role", json={"role": "king"}, headers=users["boss"]
    )

    assert (by_user.status, by_moderator.status, by_admin.status) == (403, 403, 200)
    assert (unknown.status, wrong.status) == (404, 422)
    assert (await by_admin.json())["user"] == {
        "username": "anna",
        "image": (await by_admin.json())["user"]["image"],
        "role": "moderator",
    }
    open_sessions = await db.fetchval(
        "SELECT count(*) FROM auth.sessions WHERE user_id = $1 AND revoked_at IS NULL",
        users.ids["anna"],
    )
    assert open_sessions == 0
    login = await users.auth.post(
        "/api/users/login",
        json={"user": {"email": "anna@example.com", "password": "jakejake1"}},
    )
    user = (await login.json())["user"]
    assert user["role"] == "moderator"
    assert claims(user["token"])["role"] == "moderator"
    (entry, *_) = await entries(chat, users)
    assert (entry["moderator"], entry["action"], entry["target"]) == (
        "boss",
        "role.set",
        "user:anna",
    )


async def test_the_queue_shows_every_report_and_whether_it_counted(
    chat: AppClient, users: Users
) -> None:
    await staff(users)
    first = await report(chat, users, "anna", "troll")
    second = await report(chat, users, "mod", "troll")

    response = await chat.get("/api/moderation/reports?status=open", headers=users["mod"])
    body = await response.json()

    assert body["reportsCount"] == 2
    assert [r["id"] for r in body["reports"]] == [second, first]  # newest first
    assert body["reports"][1] == {
        "id": first,
        "reporter": body["reports"][1]["reporter"],
        "reported": body["reports"][1]["reported"],
        "reason": "spam",
        "counted": False,  # an account made a moment ago
        "createdAt": body["reports"][1]["createdAt"],
        "status": "open",
        "resolution": None,
    }
    assert body["reports"][1]["reporter"]["username"] == "anna"
    assert body["reports"][1]["reported"]["username"] == "troll"


async def test_dismissing_the_reports_behind_an_automatic_ban_lifts_it(
    replicas: Replicas, users: Users
) -> None:
    (chat,) = await replicas(1, CHAT_REPORTER_MIN_AGE="0", CHAT_REPORTER_REQUIRE_CONFIRMED="false")
    await staff(users)
    await users.add("cleo")
    general = await general_id(chat, users["troll"])
    ids = [await report(chat, users, name, "troll") for name in ("anna", "cleo", "boss")]
    banned = await chat.post(
        f"/api/chats/{general}/messages", json={"message": {"body": "x"}}, headers=users["troll"]
    )

    dismissed = await chat.post(
        f"/api/moderation/reports/{ids[0]}/resolve",
        json={"action": "dismiss", "note": "a joke between friends"},
        headers=users["mod"],
    )
    again = await chat.post(
        f"/api/moderation/reports/{ids[0]}/resolve",
        json={"action": "uphold"},
        headers=users["mod"],
    )

    assert banned.status == 403
    assert dismissed.status == 200
    assert (await dismissed.json())["report"]["resolution"] == "dismissed"
    assert again.status == 409
    await send(chat, users["troll"], general, "free again")
    log = await entries(chat, users)
    assert [(e["action"], e["target"]) for e in log[:2]] == [
        ("ban.lift", "user:troll"),
        ("report.dismiss", f"report:{ids[0]}"),
    ]
    assert log[1]["reason"] == "a joke between friends"


async def test_a_ban_by_hand_reaches_the_users_sockets_at_once_and_can_be_lifted(
    replicas: Replicas, users: Users, sockets: Connect
) -> None:
    a, b = await replicas(2)
    await staff(users)
    general = await general_id(a, users["troll"])
    troll = await sockets(b, users["troll"])

    created = await a.post(
        "/api/moderation/bans",
        json={"ban": {"username": "troll", "seconds": 600, "reason": "spam links"}},
        headers=users["mod"],
    )
    event = await troll.until("moderation.banned")
    refused = await b.post(
        f"/api/chats/{general}/messages", json={"message": {"body": "x"}}, headers=users["troll"]
    )
    listed = await (await b.get("/api/moderation/bans", headers=users["mod"])).json()
    lifted = await a.delete("/api/moderation/bans/troll", headers=users["mod"])
    twice = await a.delete("/api/moderation/bans/troll", headers=users["mod"])

    ban = (await created.json())["ban"]
    assert created.status == 201
    assert event["data"] == {"until": ban["until"], "reason": "spam links"}
    assert refused.status == 403
    assert ban["until"] in (await refused.json())["errors"]["body"][0]
    assert [(x["user"]["username"], x["by"]["username"], x["reason"]) for x in listed["bans"]] == [
        ("troll", "mod", "spam links")
    ]
    assert ban["by"] == listed["bans"][0]["by"]
    assert (lifted.status, twice.status) == (204, 404)
    await send(a, users["troll"], general, "back")
    log = await entries(a, users)
    assert [(e["action"], e["target"], e["reason"]) for e in log[:2]] == [
        ("ban.lift", "user:troll", None),
        ("ban", "user:troll", "spam links"),
    ]


async def test_a_ban_by_hand_checks_its_fields(chat: AppClient, users: Users) -> None:
    await staff(users)
    cases = [
        {"username": "troll", "seconds": "60", "reason": "x"},  # a string for an integer
        {"username": "troll", "seconds": 0, "reason": "x"},  # not a length
        {"username": "troll", "seconds": 60, "reason": " "},  # a blank reason
    ]
    for ban in cases:
        response = await chat.post("/api/moderation/bans", json={"ban": ban}, headers=users["mod"])
        assert response.status == 422, ban
    nobody = await chat.post(
        "/api/moderation/bans",
        json={"ban": {"username": "nobody", "seconds": 60, "reason": "x"}},
        headers=users["mod"],
    )
    assert nobody.status == 404


async def test_a_moderator_removes_any_general_message_but_not_in_others_groups(
    chat: AppClient, users: Users
) -> None:
    await staff(users)
    general = await general_id(chat, users["troll"])
    spam = await send(chat, users["troll"], general, "buy now")
    soups = await group(chat, users["anna"], members=["mod"])
    private = await send(chat, users["anna"], soups["id"], "ours")

    removed = await chat.delete(
        f"/api/chats/{general}/messages/{spam['id']}?reason=advertising", headers=users["mod"]
    )
    elsewhere = await chat.delete(
        f"/api/chats/{soups['id']}/messages/{private['id']}", headers=users["mod"]
    )

    assert removed.status == 204
    assert elsewhere.status == 403
    history = await (await chat.get(f"/api/chats/{general}/messages", headers=users["anna"])).json()
    assert history["messages"][-1]["deleted"] is True
    (entry, *_) = await entries(chat, users)
    assert (entry["moderator"], entry["action"], entry["target"], entry["reason"]) == (
        "mod",
        "message.delete",
        f"message:{general}/{spam['id']}",
        "advertising",
    )


async def test_posts_removed_by_a_moderator_reach_the_one_audit_log(
    chat: AppClient, posts: AppClient, users: Users
) -> None:
    await staff(users)
    created = await posts.post(
        "/api/articles",
        json={"article": {"title": "Spam soup", "description": "d", "body": "b", "tagList": []}},
        headers=users["troll"],
    )
    assert created.status in (200, 201), await created.text()
    slug = (await created.json())["article"]["slug"]
    other = await posts.post(
        "/api/articles",
        json={"article": {"title": "Good soup", "description": "d", "body": "b", "tagList": []}},
        headers=users["anna"],
    )
    good = (await other.json())["article"]["slug"]
    comment = await posts.post(
        f"/api/articles/{good}/comments",
        json={"comment": {"body": "click here"}},
        headers=users["troll"],
    )
    comment_id = (await comment.json())["comment"]["id"]

    by_user = await posts.delete(f"/api/articles/{slug}", headers=users["anna"])
    by_user_comment = await posts.delete(
        f"/api/articles/{good}/comments/{comment_id}", headers=users["anna"]
    )
    article_gone = await posts.delete(f"/api/articles/{slug}?reason=spam", headers=users["mod"])
    comment_gone = await posts.delete(
        f"/api/articles/{good}/comments/{comment_id}?reason=spam", headers=users["boss"]
    )

    assert (by_user.status, by_user_comment.status) == (403, 403)
    assert (article_gone.status, comment_gone.status) == (204, 204)
    assert (await posts.get(f"/api/articles/{slug}")).status == 404

    async def logged() -> list[tuple[str, str, str, str]]:
        found = [
            (e["moderator"], e["service"], e["action"], e["target"])
            for e in await entries(chat, users)
        ]
        return found if len(found) == 2 else []

    assert sorted(await until(logged, timeout=10)) == sorted(
        [
            ("mod", "posts", "article.delete", f"article:{slug}"),
            ("boss", "posts", "comment.delete", f"comment:{good}/{comment_id}"),
        ]
    )
