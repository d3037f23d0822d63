"""Issue 23's findings, repeated as an attacker would, through the gateway against two chat
replicas (the first one, scheduled messages crowding a period, and the bans by hand are in
test_moderation.py): each is refused or handled as the README's "Chat" and "Moderation"
describe."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from tests.e2e.test_chat import general_of, next_of
from tests.e2e.test_moderation import as_role
from tests.e2e.test_realworld import call, signup
from tests.infra import Infra
from tests.stack import Stack
from tests.waiting import until

BANNED = "you are banned from writing to chats until "


async def group(api: aiohttp.ClientSession, token: str, title: str, private: bool = False) -> int:
    chat = {"chat": {"type": "group", "title": title, "private": private}}
    status, body = await call(api, "POST", "/api/chats", token, json=chat)
    assert status == 201, body
    return int(body["chat"]["id"])


async def send(api: aiohttp.ClientSession, token: str, chat: int, text: str) -> dict[str, Any]:
    path = f"/api/chats/{chat}/messages"
    status, body = await call(api, "POST", path, token, json={"message": {"body": text}})
    assert status == 201, body
    return body["message"]  # type: ignore[no-any-return]


async def test_reports_from_accounts_made_a_moment_ago_ban_nobody_but_reach_the_queue(
    api: aiohttp.ClientSession, infra: Infra
) -> None:
    mod = await as_role(api, infra, "mod", "moderator")
    victim = await signup(api, "victim")
    reports = []
    for name in ("sock1", "sock2", "sock3"):
        sock = await signup(api, name)
        reports.append(
            (await call(api, "POST", "/api/users/victim/report", sock, json={"reason": "x"}))[0]
        )
    sent, _ = await call(
        api,
        "POST",
        f"/api/chats/{await general_of(api, victim)}/messages",
        victim,
        json={"message": {"body": "still here"}},
    )
    _, queue = await call(api, "GET", "/api/moderation/reports?status=open", mod)

    assert reports == [201, 201, 201]
    assert sent == 201
    assert [(r["reported"]["username"], r["counted"]) for r in queue["reports"]] == [
        ("victim", False)
    ] * 3


async def test_a_banned_user_writes_nothing_anywhere_and_types_to_nobody(
    api: aiohttp.ClientSession, infra: Infra
) -> None:
    mod = await as_role(api, infra, "mod", "moderator")
    troll = await signup(api, "troll")
    anna = await signup(api, "anna")
    own = await group(api, troll, "Mine")
    message = await send(api, troll, own, "before the ban")
    secret = await group(api, anna, "Secret", private=True)
    _, invite = await call(api, "POST", f"/api/chats/{secret}/invites", anna, json={"invite": {}})
    ban = {"ban": {"username": "troll", "seconds": 600, "reason": "spam"}}
    assert (await call(api, "POST", "/api/moderation/bans", mod, json=ban))[0] == 201

    attempts: list[tuple[str, str, Any]] = [
        ("POST", f"/api/chats/{own}/messages", {"message": {"body": "x"}}),
        ("PATCH", f"/api/chats/{own}/messages/{message['id']}", {"message": {"body": "y"}}),
        ("POST", f"/api/chats/{own}/messages/{message['id']}/comments", {"comment": {"body": "z"}}),
        ("POST", "/api/chats", {"chat": {"type": "group", "title": "Spam"}}),
        ("POST", "/api/chats", {"chat": {"type": "direct", "username": "anna"}}),
        ("PATCH", f"/api/chats/{own}", {"chat": {"title": "Renamed"}}),
        ("POST", f"/api/chats/{own}/members", {"username": "anna"}),
        ("POST", f"/api/chats/{own}/invites", {"invite": {}}),
        ("POST", f"/api/chats/join/{invite['invite']['code']}", None),
    ]
    answers = [await call(api, method, path, troll, json=body) for method, path, body in attempts]
    async with api.ws_connect(f"/api/chat/ws?token={troll}") as ws:
        await next_of(ws, "hello")
        await ws.send_json({"type": "typing", "chatId": own})
        typing = await next_of(ws, "error")

    assert [status for status, _ in answers] == [403] * len(attempts)
    assert {body["errors"]["body"][0] for _, body in answers} == {typing["data"]["message"]}
    assert typing["data"]["message"].startswith(BANNED)


async def test_comments_and_edits_in_the_general_chat_spend_the_budget(
    api: aiohttp.ClientSession,
) -> None:
    jake = await signup(api, "jake")
    general = await general_of(api, jake)
    first = await send(api, jake, general, "one")
    for number in range(19):  # the default budget: 20 an hour
        await send(api, jake, general, f"message {number}")

    path = f"/api/chats/{general}/messages/{first['id']}"
    comment, commented = await call(
        api, "POST", f"{path}/comments", jake, json={"comment": {"body": "more"}}
    )
    edit, edited = await call(api, "PATCH", path, jake, json={"message": {"body": "changed"}})

    assert (comment, edit) == (429, 429)
    assert "messages to the general chat per period" in commented["errors"]["body"][0]
    assert edited["errors"]["body"] == commented["errors"]["body"]


async def test_the_files_of_a_deleted_or_abandoned_group_leave_storage(
    api: aiohttp.ClientSession, running_stack: Stack
) -> None:
    folder = running_stack.data_dir / "attachments"
    jake = await signup(api, "jake")

    def stored() -> set[str]:
        return {str(path) for path in folder.rglob("*") if path.is_file()}

    for ending in ("DELETE chat", "last member leaves"):
        chat = await group(api, jake, ending)
        before = stored()
        form = aiohttp.FormData()
        form.add_field("file", b"crumb" * 50, filename="bread.txt", content_type="text/plain")
        status, uploaded = await call(api, "POST", "/api/chat/attachments", jake, data=form)
        assert status == 201, uploaded
        file_id = uploaded["attachment"]["id"]
        added = stored() - before
        message = {"message": {"body": "look", "attachmentId": file_id}}
        assert (await call(api, "POST", f"/api/chats/{chat}/messages", jake, json=message))[
            0
        ] == 201
        path = (
            f"/api/chats/{chat}" if ending == "DELETE chat" else f"/api/chats/{chat}/members/jake"
        )
        assert (await call(api, "DELETE", path, jake))[0] == 204

        assert len(added) == 1
        await until(lambda: not (added & stored()), timeout=10)  # noqa: B023 - awaited here
        download, _ = await call(api, "GET", f"/api/chat/attachments/{file_id}", jake)
        assert download == 404


async def test_join_requests_tell_the_owner_once_wait_after_a_rejection_and_links_are_revoked(
    api: aiohttp.ClientSession,
) -> None:
    anna = await signup(api, "anna")
    carl = await signup(api, "carl")
    chat = await group(api, anna, "Secret", private=True)
    _, invite = await call(api, "POST", f"/api/chats/{chat}/invites", anna, json={"invite": {}})
    code = invite["invite"]["code"]
    async with api.ws_connect(f"/api/chat/ws?token={anna}") as ws:
        await next_of(ws, "hello")
        asked = [(await call(api, "POST", f"/api/chats/join/{code}", carl))[0] for _ in range(7)]
        told = await _count(ws, "chat.join_requested", quiet=1.0)
    _, pending = await call(api, "GET", f"/api/chats/{chat}/join-requests", anna)
    (request,) = pending["joinRequests"]
    path = f"/api/chats/{chat}/join-requests/{request['id']}/reject"
    assert (await call(api, "POST", path, anna))[0] == 200
    async with api.post(
        f"/api/chats/join/{code}", headers={"Authorization": f"Token {carl}"}
    ) as again:
        retry_after = again.headers.get("Retry-After")
        asked_again = again.status
    _, links = await call(api, "GET", f"/api/chats/{chat}/invites", anna)
    revoked, _ = await call(api, "DELETE", f"/api/chats/{chat}/invites/{code}", anna)
    bob = await signup(api, "bob")
    late, _ = await call(api, "POST", f"/api/chats/join/{code}", bob)

    assert asked == [202] + [200] * 6
    assert told == 1
    assert (asked_again, retry_after) == (429, "86400")
    assert len(links["invites"]) == 1
    assert (revoked, late) == (204, 404)


async def _count(ws: aiohttp.ClientWebSocketResponse, kind: str, quiet: float) -> int:
    """How many events of `kind` arrive until the socket is quiet for `quiet` seconds."""
    count = 0
    while True:
        try:
            frame = await ws.receive(timeout=quiet)
        except TimeoutError:
            return count
        if frame.type is aiohttp.WSMsgType.TEXT and json.loads(frame.data)["type"] == kind:
            count += 1


async def test_comments_go_with_their_deleted_message(api: aiohttp.ClientSession) -> None:
    jake = await signup(api, "jake")
    chat = await group(api, jake, "Threads")
    message = await send(api, jake, chat, "soup?")
    path = f"/api/chats/{chat}/messages/{message['id']}"
    assert (await call(api, "POST", f"{path}/comments", jake, json={"comment": {"body": "y"}}))[
        0
    ] == 201
    assert (await call(api, "DELETE", path, jake))[0] == 204

    listed, _ = await call(api, "GET", f"{path}/comments", jake)
    added, _ = await call(api, "POST", f"{path}/comments", jake, json={"comment": {"body": "n"}})
    assert (listed, added) == (404, 404)


async def test_numbers_and_booleans_are_never_coerced(api: aiohttp.ClientSession) -> None:
    jake = await signup(api, "jake")
    chat = await group(api, jake, "Types")
    await send(api, jake, chat, "one")
    cases: list[tuple[str, str, dict[str, Any], str]] = [
        ("POST", f"/api/chats/{chat}/read", {"seq": "3"}, "seq"),
        ("POST", f"/api/chats/{chat}/read", {"seq": 1.5}, "seq"),
        (
            "POST",
            f"/api/chats/{chat}/invites",
            {"invite": {"expiresInSeconds": "60"}},
            "expiresInSeconds",
        ),
        ("PATCH", f"/api/chats/{chat}", {"chat": {"private": "true"}}, "private"),
    ]
    for method, path, body, field in cases:
        status, answer = await call(api, method, path, jake, json=body)
        assert (status, field in answer["errors"]) == (422, True), (body, answer)
    _, read = await call(api, "POST", f"/api/chats/{chat}/read", jake, json={"seq": 1})
    assert read["read"]["seq"] == 1


async def test_moderation_routes_refuse_users_and_admit_moderators_and_admins(
    api: aiohttp.ClientSession, infra: Infra
) -> None:
    mod = await as_role(api, infra, "mod", "moderator")
    admin = await as_role(api, infra, "boss", "admin")
    user = await signup(api, "jake")
    await signup(api, "target")
    routes: list[tuple[str, str, Any, int]] = [
        ("GET", "/api/moderation/reports?status=open", None, 200),
        ("GET", "/api/moderation/bans", None, 200),
        (
            "POST",
            "/api/moderation/bans",
            {"ban": {"username": "target", "seconds": 60, "reason": "t"}},
            201,
        ),
        ("DELETE", "/api/moderation/bans/target", None, 204),
        ("GET", "/api/moderation/log", None, 200),
    ]
    role = ("PUT", "/api/moderation/users/target/role", {"role": "user"})
    answers: dict[str, list[int]] = {}
    for who, token in (("user", user), ("moderator", mod), ("admin", admin)):
        answers[who] = [
            (await call(api, method, path, token, json=body))[0] for method, path, body, _ in routes
        ]
        answers[who].append((await call(api, *role[:2], token, json=role[2]))[0])
    _, log = await call(api, "GET", "/api/moderation/log", admin)

    allowed = [expected for *_, expected in routes]
    assert answers == {
        "user": [403] * 6,
        "moderator": [*allowed, 403],
        "admin": [*allowed, 200],
    }
    assert [(e["action"], e["target"]) for e in log["entries"]][:3] == [
        ("role.set", "user:target"),
        ("ban.lift", "user:target"),
        ("ban", "user:target"),
    ]


async def test_a_moderator_removes_others_recipes_comments_and_general_messages(
    api: aiohttp.ClientSession, infra: Infra
) -> None:
    mod = await as_role(api, infra, "mod", "moderator")
    jake = await signup(api, "jake")
    anna = await signup(api, "anna")
    article = {"article": {"title": "Mud pie", "description": "d", "body": "b"}}
    _, created = await call(api, "POST", "/api/articles", jake, json=article)
    slug = created["article"]["slug"]
    _, comment = await call(
        api, "POST", f"/api/articles/{slug}/comments", jake, json={"comment": {"body": "spam"}}
    )
    general = await general_of(api, jake)
    shout = await send(api, jake, general, "buy now")
    paths = [
        f"/api/articles/{slug}/comments/{comment['comment']['id']}?reason=spam",
        f"/api/articles/{slug}?reason=spam",
        f"/api/chats/{general}/messages/{shout['id']}?reason=spam",
    ]

    by_user = [(await call(api, "DELETE", path, anna))[0] for path in paths]
    by_mod = [(await call(api, "DELETE", path, mod))[0] for path in paths]

    async def logged() -> list[str] | None:
        _, log = await call(api, "GET", "/api/moderation/log", mod)
        actions = sorted(e["action"] for e in log["entries"])
        return actions if len(actions) == 3 else None

    assert by_user == [403, 403, 403]
    assert by_mod == [204, 204, 204]
    assert await until(logged) == ["article.delete", "comment.delete", "message.delete"]
