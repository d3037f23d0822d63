"""A multipart body that cannot be split (no boundary, one too long, none in the body) is a
client's error, 400 in the API format, on every upload route (shared/web/errors.py)."""

from __future__ import annotations

import aiohttp
import pytest

from tests.factories import call, signup

BAD = [
    ("multipart/form-data", b"--x\r\n\r\n"),  # no boundary parameter
    ("multipart/form-data; boundary=" + "b" * 71, b"--x\r\n"),  # longer than RFC 2046's 70
    ("multipart/form-data; boundary=abc", b"no boundary in here"),
]


@pytest.mark.parametrize("route", ["/api/media", "/api/chat/attachments"])
async def test_an_unsplittable_multipart_body_is_400(
    api: aiohttp.ClientSession, route: str
) -> None:
    jake = await signup(api, "jake")
    for content_type, body in BAD:
        headers = {"Content-Type": content_type}
        status, answer = await call(api, "POST", route, jake["token"], headers, data=body)
        assert status == 400, (content_type, status, answer)
        assert answer["errors"]["body"] == ["the request body is not valid multipart"]
