"""gateway/routing.py: each route group reaches its service."""

from __future__ import annotations

from typing import Any

import pytest

from tests.gateway.conftest import Echo
from tests.gateway.helpers import bearer
from tests.typing import AppClient


@pytest.mark.parametrize(
    ("method", "path", "service"),
    [
        ("POST", "/api/users", "auth"),
        ("POST", "/api/users/login", "auth"),
        ("GET", "/api/users", "auth"),
        ("GET", "/api/user", "auth"),
        ("POST", "/api/auth/refresh", "auth"),
        ("GET", "/api/.well-known/jwks.json", "auth"),
        ("GET", "/api/profiles/anna", "social"),
        ("POST", "/api/profiles/anna/follow", "social"),
        ("GET", "/api/articles?tag=soup", "posts"),
        ("GET", "/api/articles/feed", "posts"),
        ("PUT", "/api/articles/my-soup", "posts"),
        ("GET", "/api/tags", "posts"),
        ("GET", "/api/media/abc", "posts"),
        ("GET", "/api/chats", "chat"),
        ("POST", "/api/chats/3/messages", "chat"),
        ("GET", "/api/chat/status", "chat"),
        ("POST", "/api/users/anna/report", "chat"),
    ],
)
async def test_each_route_group_reaches_its_service(
    gateway: AppClient, echoes: dict[str, Echo], method: str, path: str, service: str
) -> None:
    kwargs: dict[str, Any] = {"headers": bearer(echoes)}
    if method in ("POST", "PUT"):
        kwargs["json"] = {}
    response = await gateway.request(method, path, **kwargs)
    assert response.status == 200, await response.text()
    if path.endswith("jwks.json"):
        return
    assert (await response.json())["service"] == service
    assert echoes[service].seen[-1]["path"] == path


@pytest.mark.parametrize(
    "path",
    [
        "/api/articles/feed%0A",  # `$` alone matched before the final newline: feed's route
        "/api/users/login%0A",
        "/api/users/anna/report%0A",
    ],
)
async def test_a_path_with_a_final_newline_matches_no_route(
    gateway: AppClient, echoes: dict[str, Echo], path: str
) -> None:
    response = await gateway.post(path, headers=bearer(echoes), json={})
    assert response.status == 404
    assert (await response.json())["errors"]["body"][0].startswith("no route for ")
    assert all(not echo.seen for echo in echoes.values())
