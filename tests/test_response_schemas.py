"""Every service answers what its own OpenAPI document says: each documented operation is
called with real requests, each JSON body is validated against the schema the document gives
for its route and status, and every route of routes.py must be in the document and exercised.

Schemas are validated strictly: an object may hold only the properties its schema lists, so a
field the code sends and the document leaves out fails as much as a missing one.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

from auth_service.routes import ROUTES as AUTH_ROUTES
from chat_service.routes import ROUTES as CHAT_ROUTES
from posts_service.routes import ROUTES as POSTS_ROUTES
from social_service.routes import ROUTES as SOCIAL_ROUTES
from tests.chat_service.conftest import chat_app
from tests.factories import as_user, register
from tests.infra import Infra
from tests.mail import token_in, wait_for_mail
from tests.services import Users, base_url, serving
from tests.vouching import VOUCHED
from tests.waiting import until

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
Operation = tuple[str, str]  # method, route as the document writes it


def strict(node: Any) -> Any:
    """The schema with `additionalProperties: false` on every object that lists properties
    and says nothing of others."""
    if isinstance(node, dict):
        node = {key: strict(value) for key, value in node.items()}
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        return node
    if isinstance(node, list):
        return [strict(item) for item in node]
    return node


def registered(routes: Iterable[web.AbstractRouteDef]) -> set[Operation]:
    return {(route.method, route.path) for route in routes if isinstance(route, web.RouteDef)}


class Contract:
    """Calls one service and checks each answer against the service's own document."""

    def __init__(
        self, client: TestClient[web.Request, web.Application], document: dict[str, Any]
    ) -> None:
        self.client = client
        self.document = document
        self.components = strict(document.get("components", {}))
        self.called: set[tuple[str, str, int]] = set()

    @classmethod
    async def of(cls, client: TestClient[web.Request, web.Application]) -> Contract:
        response = await client.get("/openapi.json")
        assert response.status == 200
        document = await response.json()
        validate(document)
        return cls(client, document)

    def documented(self) -> set[tuple[str, str, int | None]]:
        """Each operation with each success status it documents (None: only a default).
        HEAD is left out: aiohttp adds it to every GET, which the GET's call covers."""
        found: set[tuple[str, str, int | None]] = set()
        for route, operations in self.document["paths"].items():
            for method, operation in operations.items():
                if method in ("head", "parameters"):
                    continue
                statuses: list[int | None] = [
                    int(s) for s in operation["responses"] if s.isdigit() and int(s) < 400
                ]
                for status in statuses or [None]:
                    found.add((method.upper(), route, status))
        return found

    def schema_for(self, method: str, route: str, status: int) -> dict[str, Any] | None:
        """The JSON schema of this answer, or None when the document gives it no body."""
        operation = self.document["paths"].get(route, {}).get(method.lower())
        assert operation is not None, f"{method} {route} is not in the document"
        responses = operation["responses"]
        declared = responses.get(str(status)) or responses.get("default")
        assert declared is not None, f"{method} {route} answered {status}, not documented"
        content = declared.get("content", {}).get("application/json")
        return None if content is None else dict(content["schema"])

    def check(self, method: str, route: str, status: int, body: Any) -> None:
        schema = self.schema_for(method, route, status)
        if body is None:
            assert schema is None, f"{method} {route} {status}: documented with a body, sent none"
            return
        assert schema is not None, f"{method} {route} {status} sends JSON its document omits"
        # The components ride along so that the schema's `#/components/...` references resolve.
        root = {"allOf": [strict(schema)], "components": self.components}
        errors = [
            f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
            for error in OAS30Validator(root).iter_errors(body)
        ]
        assert not errors, f"{method} {route} {status}: " + "; ".join(errors)

    async def call(
        self,
        method: str,
        route: str,
        status: int,
        *,
        path: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Sends the request to the route (its {parameters} filled from `path`), expects the
        status, checks the body and returns it (None for no body or not JSON)."""
        url = route.format(**(path or {}))
        async with self.client.request(method, url, headers=headers, **kwargs) as response:
            raw = await response.read()
            assert response.status == status, f"{method} {url}: {response.status} {raw[:300]!r}"
            is_json = response.content_type == "application/json"
            body = await response.json() if raw and is_json else None
        self.check(method, route, status, body)
        self.called.add((method, route, status))
        return body

    def assert_complete(self, routes: Iterable[web.AbstractRouteDef]) -> None:
        documented = self.documented()
        operations = {(method, route) for method, route, _ in documented}
        missing = registered(routes) - operations
        assert not missing, f"routes not in the document: {sorted(missing)}"
        not_called = {
            (method, route, status)
            for method, route, status in documented
            if status is not None and (method, route, status) not in self.called
        } | {
            (method, route, None)
            for method, route, status in documented
            if status is None and not any(c[:2] == (method, route) for c in self.called)
        }
        assert not not_called, f"documented but not called: {sorted(not_called, key=str)}"


def later(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def picture() -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("file", io.BytesIO(PNG), filename="picture.png", content_type="image/png")
    return form


async def test_auth_answers_as_its_document_says(
    auth_client: TestClient[web.Request, web.Application], infra: Infra
) -> None:
    auth = await Contract.of(auth_client)
    new_user = {"user": {"username": "jake", "email": "jake@example.com", "password": "jakejake1"}}
    jake = (await auth.call("POST", "/api/users", 201, json=new_user))["user"]
    anna = await register(auth_client, "anna")
    jake_id = int(as_user(jake)["X-User-Id"])
    credentials = {"user": {"email": "jake@example.com", "password": "jakejake1"}}
    await auth.call("POST", "/api/users/login", 200, json=credentials)
    await auth.call("GET", "/api/users", 200)
    await auth.call("GET", "/api/user", 200, headers=as_user(jake))
    await auth.call("PUT", "/api/user", 200, headers=as_user(jake), json={"user": {"bio": "Soup"}})
    refresh = {"refreshToken": jake["refreshToken"]}
    await auth.call("POST", "/api/auth/refresh", 200, json=refresh)

    confirmation = await wait_for_mail(infra.mail_api, "jake@example.com", "Confirm your e-mail")
    await auth.call("POST", "/api/auth/confirm", 200, json={"token": token_in(confirmation)})
    await auth.call("POST", "/api/auth/confirm/resend", 202, headers=as_user(anna))
    reset = {"email": "jake@example.com"}
    await auth.call("POST", "/api/auth/password-reset", 202, json=reset)
    token = token_in(await wait_for_mail(infra.mail_api, "jake@example.com", "Reset"))
    new_password = {"token": token, "password": "new-password"}
    await auth.call("POST", "/api/auth/password-reset/confirm", 200, json=new_password)

    await auth.call("GET", "/api/.well-known/jwks.json", 200)
    await auth.call("GET", "/internal/users", 200, params={"ids": f"{jake_id},999"})
    await auth.call("GET", "/internal/users/by-username/{username}", 200, path={"username": "jake"})
    await auth.call("GET", "/internal/users/{user_id}/standing", 200, path={"user_id": jake_id})
    role = {"role": "moderator"}
    await auth.call(
        "PUT", "/internal/users/{username}/role", 200, path={"username": "anna"}, json=role
    )
    await auth.call("POST", "/api/auth/logout", 204, headers=as_user(anna))
    await auth.call("DELETE", "/api/user", 204, headers=as_user(jake))
    # The ended sessions, as gateways read them (a password reset and a deletion end all).
    await auth.call("GET", "/internal/sessions/revoked", 200)
    await auth.call("GET", "/api/static/avatar.svg", 200)
    auth.assert_complete(AUTH_ROUTES)


async def test_social_answers_as_its_document_says(
    social: TestClient[web.Request, web.Application], users: Users
) -> None:
    api = await Contract.of(social)
    await users.add("jake", "anna")
    jake, anna = users.ids["jake"], users.ids["anna"]
    name = {"username": "anna"}
    await api.call("GET", "/api/profiles/{username}", 200, path=name, headers=users["jake"])
    await api.call("POST", "/api/profiles/{username}/follow", 200, path=name, headers=users["jake"])
    await api.call("GET", "/api/profiles/{username}/followers", 200, path=name)
    await api.call("GET", "/api/profiles/{username}/following", 200, path={"username": "jake"})
    like = {"article_id": 7, "user_id": jake}
    await api.call("PUT", "/internal/likes/{article_id}/{user_id}", 200, path=like)
    summary = {"articleIds": [7, 8], "authorIds": [jake, anna], "viewerId": jake}
    await api.call("POST", "/internal/summary", 200, json=summary)
    await api.call("POST", "/internal/summary", 200, json={"articleIds": [7], "authorIds": [anna]})
    mine = {"user_id": jake}
    await api.call("GET", "/internal/users/{user_id}/liked-article-ids", 200, path=mine)
    await api.call("GET", "/internal/users/{user_id}/following-ids", 200, path=mine)
    await api.call("DELETE", "/internal/likes/{article_id}/{user_id}", 200, path=like)
    await api.call(
        "DELETE", "/api/profiles/{username}/follow", 200, path=name, headers=users["jake"]
    )
    api.assert_complete(SOCIAL_ROUTES)


async def test_posts_answer_as_their_document_says(
    posts: TestClient[web.Request, web.Application],
    social: TestClient[web.Request, web.Application],
    users: Users,
) -> None:
    api = await Contract.of(posts)
    await users.add("jake", "anna")
    jake, anna = users["jake"], users["anna"]
    follow = await social.post("/api/profiles/jake/follow", headers=anna)
    assert follow.status == 200
    media = (await api.call("POST", "/api/media", 201, headers=jake, data=picture()))["media"]
    recipe = {
        "title": "Leek soup",
        "description": "Warm",
        "body": "Boil the leeks.",
        "tagList": ["soup", "winter"],
        "complexity": "easy",
        "cookingMinutes": 30,
        "ingredients": [{"name": "leek", "quantity": "2"}, {"name": "salt"}],
        "media": [media["id"]],
    }
    created = await api.call("POST", "/api/articles", 201, headers=jake, json={"article": recipe})
    plain = {"title": "Toast", "description": "Quick", "body": "Toast the bread."}
    await api.call("POST", "/api/articles", 201, headers=anna, json={"article": plain})
    slug = {"slug": created["article"]["slug"]}

    for params in ({}, {"tag": "soup"}, {"author": "jake"}, {"q": "leek"}, {"favorited": "anna"}):
        await api.call("GET", "/api/articles", 200, params=params, headers=anna)
    await api.call("GET", "/api/articles", 200)
    await api.call("GET", "/api/articles/feed", 200, headers=anna)
    await api.call("GET", "/api/articles/{slug}", 200, path=slug)
    await api.call("GET", "/api/articles/{slug}", 200, path=slug, headers=anna)
    change = {"article": {"description": "Warm and green", "cookingMinutes": None}}
    await api.call("PUT", "/api/articles/{slug}", 200, path=slug, headers=jake, json=change)
    await api.call("POST", "/api/articles/{slug}/favorite", 200, path=slug, headers=anna)
    await api.call("GET", "/api/articles", 200, params={"favorited": "anna"})
    await api.call("DELETE", "/api/articles/{slug}/favorite", 200, path=slug, headers=anna)

    comment = {"comment": {"body": "Lovely"}}
    added = await api.call(
        "POST", "/api/articles/{slug}/comments", 200, path=slug, headers=anna, json=comment
    )
    await api.call("GET", "/api/articles/{slug}/comments", 200, path=slug)
    await api.call(
        "DELETE",
        "/api/articles/{slug}/comments/{id}",
        204,
        path={**slug, "id": added["comment"]["id"]},
        headers=anna,
    )
    await api.call("GET", "/api/tags", 200)
    await api.call("GET", "/api/media/{id}", 200, path={"id": media["id"]})
    await api.call("DELETE", "/api/articles/{slug}", 204, path=slug, headers=jake)
    api.assert_complete(POSTS_ROUTES)


@pytest.fixture
async def chat(
    infra: Infra, auth_client: TestClient[web.Request, web.Application]
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    async with serving(chat_app(infra, auth_client)) as client:
        yield client


async def test_chat_answers_as_its_document_says(
    chat: TestClient[web.Request, web.Application], users: Users
) -> None:
    api = await Contract.of(chat)
    await users.add("jake", "anna", "bob", "cleo")
    jake = users["jake"]
    chats = (await api.call("GET", "/api/chats", 200, headers=jake))["chats"]
    general = {"chat_id": next(c["id"] for c in chats if c["type"] == "general")}
    public = {"chat": {"type": "group", "title": "Soups", "description": "All of them"}}
    soups = (await api.call("POST", "/api/chats", 201, headers=jake, json=public))["chat"]
    group = {"chat_id": soups["id"]}
    direct = {"chat": {"type": "direct", "username": "anna"}}
    await api.call("POST", "/api/chats", 201, headers=jake, json=direct)
    await api.call("POST", "/api/chats", 200, headers=jake, json=direct)  # it exists
    await api.call("GET", "/api/chats/{chat_id}", 200, path=group, headers=jake)
    changes = {"chat": {"title": "Soups and stews", "messageTtlSeconds": 3600}}
    await api.call("PATCH", "/api/chats/{chat_id}", 200, path=group, headers=jake, json=changes)
    member = {"username": "anna"}
    members = "/api/chats/{chat_id}/members"
    await api.call("POST", members, 201, path=group, headers=jake, json=member)
    await api.call("POST", members, 200, path=group, headers=jake, json=member)

    invite = await api.call("POST", "/api/chats/{chat_id}/invites", 201, path=group, headers=jake)
    code = {"code": invite["invite"]["code"]}
    await api.call("POST", "/api/chats/join/{code}", 200, path=code, headers=users["bob"])
    links = "/api/chats/{chat_id}/invites"
    spare = await api.call("POST", links, 201, path=group, headers=jake)
    await api.call("GET", links, 200, path=group, headers=jake)
    revoke = {**group, "code": spare["invite"]["code"]}
    await api.call("DELETE", links + "/{code}", 204, path=revoke, headers=jake)
    private = {"chat": {"type": "group", "title": "Secret", "private": True}}
    secret = (await api.call("POST", "/api/chats", 201, headers=jake, json=private))["chat"]
    hidden = {"chat_id": secret["id"]}
    invite = await api.call("POST", "/api/chats/{chat_id}/invites", 201, path=hidden, headers=jake)
    code = {"code": invite["invite"]["code"]}
    asked = await api.call("POST", "/api/chats/join/{code}", 202, path=code, headers=users["bob"])
    await api.call("POST", "/api/chats/join/{code}", 202, path=code, headers=users["cleo"])
    requests = "/api/chats/{chat_id}/join-requests"
    pending = await api.call("GET", requests, 200, path=hidden, headers=jake)
    others = [r["id"] for r in pending["joinRequests"] if r["id"] != asked["joinRequest"]["id"]]
    decide = requests + "/{request_id}/"
    approve = {**hidden, "request_id": asked["joinRequest"]["id"]}
    await api.call("POST", decide + "approve", 200, path=approve, headers=jake)
    reject = {**hidden, "request_id": others[0]}
    await api.call("POST", decide + "reject", 200, path=reject, headers=jake)

    attachment = aiohttp.FormData()
    attachment.add_field("file", io.BytesIO(b"notes"), filename="n.txt", content_type="text/plain")
    uploaded = await api.call("POST", "/api/chat/attachments", 201, headers=jake, data=attachment)
    file = {"attachment_id": uploaded["attachment"]["id"]}
    await api.call("GET", "/api/chat/attachments/{attachment_id}", 200, path=file, headers=jake)

    messages = "/api/chats/{chat_id}/messages"
    first = {"message": {"body": "Leeks?", "attachmentId": file["attachment_id"]}}
    sent = await api.call("POST", messages, 201, path=group, headers=jake, json=first)
    one = {**group, "message_id": sent["message"]["id"]}
    reply = {"message": {"body": "Yes", "replyTo": one["message_id"]}}
    await api.call("POST", messages, 201, path=group, headers=users["anna"], json=reply)
    await api.call("GET", messages, 200, path=group, headers=users["anna"])
    await api.call("GET", messages, 200, path=general, headers=jake, params={"limit": "5"})
    edit = {"message": {"body": "Leeks!"}}
    await api.call("PATCH", messages + "/{message_id}", 200, path=one, headers=jake, json=edit)
    comments = messages + "/{message_id}/comments"
    note = {"comment": {"body": "Good question"}}
    await api.call("POST", comments, 201, path=one, headers=users["anna"], json=note)
    await api.call("GET", comments, 200, path=one, headers=jake)
    read = {"seq": sent["message"]["seq"]}
    await api.call("POST", "/api/chats/{chat_id}/read", 200, path=group, headers=jake, json=read)
    await api.call("GET", "/api/chats/unread", 200, headers=users["anna"])

    timed = {"message": {"body": "Dinner", "sendAt": later(3600)}}
    scheduled = await api.call("POST", messages, 201, path=group, headers=jake, json=timed)
    await api.call("GET", messages + "/scheduled", 200, path=group, headers=jake)
    cancel = {**group, "message_id": scheduled["message"]["id"]}
    await api.call("DELETE", messages + "/scheduled/{message_id}", 204, path=cancel, headers=jake)
    await api.call("DELETE", messages + "/{message_id}", 204, path=one, headers=jake)
    await api.call("GET", "/api/chats", 200, headers=jake)
    await api.call("GET", "/api/chat/status", 200, headers=jake)
    reason = {"reason": "spam"}
    name = {"username": "bob"}
    await api.call(
        "POST", "/api/users/{username}/report", 201, path=name, headers=jake, json=reason
    )
    await api.call("DELETE", members + "/{username}", 204, path={**group, **member}, headers=jake)
    await api.call("DELETE", "/api/chats/{chat_id}", 204, path=group, headers=jake)

    # Moderation, as a moderator and an admin (the headers the gateway sends from their tokens).
    moderator = {**users["cleo"], "X-User-Role": "moderator"}
    admin = {**users["anna"], "X-User-Role": "admin"}
    queue = await api.call("GET", "/api/moderation/reports", 200, headers=moderator)
    resolve = {"report_id": queue["reports"][0]["id"]}
    await api.call(
        "POST",
        "/api/moderation/reports/{report_id}/resolve",
        200,
        path=resolve,
        headers=moderator,
        json={"action": "dismiss", "note": "a misunderstanding"},
    )
    ban = {"ban": {"username": "bob", "seconds": 600, "reason": "spam"}}
    await api.call("POST", "/api/moderation/bans", 201, headers=moderator, json=ban)
    await api.call("GET", "/api/moderation/bans", 200, headers=moderator)
    await api.call("DELETE", "/api/moderation/bans/{username}", 204, path=name, headers=moderator)
    role = {"role": "moderator"}
    await api.call(
        "PUT", "/api/moderation/users/{username}/role", 200, path=name, headers=admin, json=role
    )
    await api.call("GET", "/api/moderation/log", 200, headers=moderator)

    # Notifications: jake approved bob's request to join Secret (kept, where Soups, which bob
    # and anna were added to, is gone with its notifications); chat's consumer makes it.
    async def notified() -> Any:
        found = await api.call("GET", "/api/notifications", 200, headers=users["bob"])
        return found if found["notifications"] else None

    newest = (await until(notified))["notifications"][0]["id"]
    await api.call("GET", "/api/notifications/unread-count", 200, headers=users["bob"])
    await api.call(
        "POST", "/api/notifications/read", 200, headers=users["bob"], json={"upTo": newest}
    )

    identity = {k: v for k, v in jake.items() if k.startswith("X-")}
    async with aiohttp.ClientSession(middlewares=VOUCHED) as session:
        socket = await session.ws_connect(f"{base_url(chat)}/api/chat/ws", headers=identity)
        await socket.close()
    api.called.add(("GET", "/api/chat/ws", 101))
    api.assert_complete(CHAT_ROUTES)


def test_strict_refuses_a_property_the_schema_does_not_list() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    assert OAS30Validator(strict(schema)).is_valid({"a": 1})
    assert not OAS30Validator(strict(schema)).is_valid({"a": 1, "b": 2})
    assert "additionalProperties" not in schema  # the document itself is left as it is
