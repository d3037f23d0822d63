"""Numbers in paths and queries are ASCII digits: a digit of another script, a superscript,
a space, a sign or an underscore is refused (4xx), never read as a number nor a 500."""

from __future__ import annotations

from urllib.parse import quote

import aiohttp
import pytest
from yarl import URL

from devstack.infra import run_internal_key
from shared.web import internal_auth
from tests.factories import call, signup
from tests.services import base_url
from tests.stack import Stack
from tests.typing import AppClient

NOT_ASCII_NUMBERS = ["\uff11", "\u0661", "\u00b2", " 1", "+1", "1_0", "1\n"]


@pytest.mark.parametrize("raw", NOT_ASCII_NUMBERS)
async def test_numeric_query_and_path_parameters_take_ascii_digits_only(
    api: aiohttp.ClientSession, running_stack: Stack, raw: str
) -> None:
    jake = await signup(api, "jake")
    body = {"article": {"title": "Soup", "description": "d", "body": "b"}}
    status, created = await call(api, "POST", "/api/articles", jake["token"], json=body)
    assert status == 201, created
    slug = created["article"]["slug"]
    value = quote(raw, safe="")
    paths = [
        f"/api/articles?limit={value}",
        f"/api/articles?offset={value}",
        f"/api/articles/feed?limit={value}",
        f"/api/profiles?limit={value}",
        f"/api/articles?before=1{value}.1",
        f"/api/articles/{slug}/comments/{value}",
    ]
    async with aiohttp.ClientSession() as raw_client:
        for path in paths:
            method = "DELETE" if "/comments/" in path else "GET"
            url = URL(running_stack.url + path, encoded=True)
            headers = {"Authorization": f"Token {jake['token']}"}
            async with raw_client.request(method, url, headers=headers) as response:
                assert 400 <= response.status < 500, (path, response.status)


async def test_an_internal_id_list_takes_ascii_digits_only(auth_client: AppClient) -> None:
    async with aiohttp.ClientSession() as raw_client:
        for raw in NOT_ASCII_NUMBERS:
            path = f"/internal/users?ids={quote(raw, safe='')}"
            proof = internal_auth.sign(run_internal_key(), "posts", "GET", path)
            url = URL(base_url(auth_client) + path, encoded=True)
            async with raw_client.get(url, headers={internal_auth.HEADER: proof}) as response:
                assert response.status == 422, (raw, response.status)
