"""gateway/headers.py: CORS and the security headers of every answer."""

from __future__ import annotations

import pytest

from tests.gateway.conftest import Echo, GatewayFactory
from tests.typing import AppClient


async def test_cors_preflight_is_answered_by_the_gateway(
    make_gateway: GatewayFactory, echoes: dict[str, Echo]
) -> None:
    gateway = await make_gateway(CORS_ORIGINS="https://app.example")
    response = await gateway.options(
        "/api/articles",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Content-Type",
        },
    )
    assert response.status == 204
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert response.headers["Access-Control-Allow-Headers"] == "Authorization, Content-Type"
    assert not echoes["posts"].seen
    actual = await gateway.get("/api/tags", headers={"Origin": "https://app.example"})
    assert actual.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "X-Request-ID" in actual.headers["Access-Control-Expose-Headers"]


async def test_cors_refuses_an_unknown_origin(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(CORS_ORIGINS="https://app.example")
    response = await gateway.options(
        "/api/articles",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert response.status == 403
    plain = await gateway.get("/api/tags", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in plain.headers


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
    ],
)
async def test_security_headers_are_on_every_answer(
    gateway: AppClient, header: str, value: str
) -> None:
    for path in ("/api/tags", "/api/nothing", "/health"):
        assert (await gateway.get(path)).headers[header] == value
