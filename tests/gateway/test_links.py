"""gateway/links.py: invite links of the API form, opened in a browser, reach the web page."""

from __future__ import annotations

import pytest

from tests.gateway.conftest import Echo
from tests.gateway.helpers import bearer
from tests.typing import AppClient

CODE = "F0HfSH04Hlt83qDBHwsYb4Zuk_ab7Hpq"
# What Chromium sends when a link is opened.
BROWSER_ACCEPT = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
)


@pytest.mark.parametrize("method", ["GET", "HEAD"])
async def test_an_old_invite_link_opened_in_a_browser_goes_to_the_join_page(
    gateway: AppClient, echoes: dict[str, Echo], method: str
) -> None:
    response = await gateway.request(
        method,
        f"/api/chats/join/{CODE}",
        headers={"Accept": BROWSER_ACCEPT},
        allow_redirects=False,
    )
    assert response.status == 302
    assert response.headers["Location"] == f"/join/{CODE}"
    assert "X-Request-ID" in response.headers
    assert not echoes["chat"].seen


@pytest.mark.parametrize(
    "accept",
    [
        "application/json",  # an API client
        "*/*",  # curl, and clients that name no type
        "",
        "application/xhtml+xml",  # not the page type a browser asks for first
    ],
)
async def test_api_clients_reading_the_old_link_are_answered_as_before(
    gateway: AppClient, echoes: dict[str, Echo], accept: str
) -> None:
    response = await gateway.get(
        f"/api/chats/join/{CODE}", headers={"Accept": accept}, allow_redirects=False
    )
    assert response.status == 401
    assert (await response.json())["errors"]["body"] == ["authentication is required"]
    assert not echoes["chat"].seen


async def test_joining_by_post_still_reaches_chat(
    gateway: AppClient, echoes: dict[str, Echo]
) -> None:
    headers = {**bearer(echoes), "Accept": BROWSER_ACCEPT}
    response = await gateway.post(f"/api/chats/join/{CODE}", headers=headers)
    assert response.status == 200
    assert echoes["chat"].seen[-1]["method"] == "POST"
    assert echoes["chat"].seen[-1]["path"] == f"/api/chats/join/{CODE}"


async def test_a_signed_in_api_read_of_the_old_link_still_reaches_chat(
    gateway: AppClient, echoes: dict[str, Echo]
) -> None:
    response = await gateway.get(f"/api/chats/join/{CODE}", headers=bearer(echoes))
    assert response.status == 200
    assert echoes["chat"].seen[-1]["path"] == f"/api/chats/join/{CODE}"


@pytest.mark.parametrize(
    "path",
    [
        "/api/chats/join/",  # no code
        "/api/chats/join/a%2F%2Fevil.example",  # what is no code never reaches Location
        "/api/chats/join/abc%0D%0ALocation:x",
        "/api/chats/join/abc/more",
        "/api/chats/joined/abc",
    ],
)
async def test_what_is_no_invite_code_is_not_redirected(
    gateway: AppClient, echoes: dict[str, Echo], path: str
) -> None:
    response = await gateway.get(path, headers={"Accept": BROWSER_ACCEPT}, allow_redirects=False)
    assert response.status in (401, 404)
    assert "Location" not in response.headers
    assert "errors" in await response.json()
