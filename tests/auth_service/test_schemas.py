"""auth_service's input schemas say in the OpenAPI document exactly what they accept."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from auth_service.schemas import UpdateUserEnvelope
from tests.factories import as_user, register
from tests.typing import AppClient

# The committed snapshot of the merged document, which tests/web keeps equal to the served one.
DOCUMENT = Path(__file__).resolve().parents[2] / "web" / "openapi.json"


def documented_image() -> dict[str, Any]:
    schemas = json.loads(DOCUMENT.read_text())["components"]["schemas"]
    return schemas["auth_UpdateUserIn"]["properties"]["image"]  # type: ignore[no-any-return]


IMAGE_PATTERN = documented_image()["pattern"]


def load_image(image: object) -> object:
    return UpdateUserEnvelope().load({"user": {"image": image}})["user"]["image"]


@pytest.mark.parametrize(
    ("user", "field"),
    [
        ({"email": "a@example.com", "password": "longenough"}, "username"),  # missing username
        ({"username": "ab", "email": "a@example.com", "password": "longenough"}, "username"),
        ({"username": "a" * 33, "email": "a@example.com", "password": "longenough"}, "username"),
        ({"username": "bad name", "email": "a@example.com", "password": "longenough"}, "username"),
        ({"username": "anna", "email": "not-an-email", "password": "longenough"}, "email"),
        ({"username": "anna", "email": "a@example.com", "password": "short"}, "password"),
        # Python's `$` matches before a final newline: neither a name nor an address has one.
        ({"username": "anna\n", "email": "a@example.com", "password": "longenough"}, "username"),
        ({"username": "anna", "email": "a@example.com\n", "password": "longenough"}, "email"),
        ({"username": "anna", "email": "a@example.com", "password": 12345678}, "password"),
        (
            {"username": "anna", "email": "a@example.com", "password": "x" * 8, "role": "admin"},
            "role",
        ),
    ],
)
async def test_invalid_registration_is_422_naming_the_field(
    auth: AppClient, user: dict[str, Any], field: str
) -> None:
    response = await auth.post("/api/users", json={"user": user})
    assert response.status == 422
    errors = (await response.json())["errors"]
    assert field in errors and errors["body"]


@settings(max_examples=200, deadline=None)
@given(st.from_regex(IMAGE_PATTERN).filter(lambda s: len(s) <= 2000))
def test_every_image_the_document_allows_is_accepted(image: str) -> None:
    # A schemathesis run found a profile image that the document allowed refused (422).
    assert load_image(image) == image.removesuffix("\n")


@pytest.mark.parametrize(
    "image",
    [
        "\ud99a\udc60",  # what the schemathesis run sent: not a URL at all
        "javascript:alert(1)",  # only http(s) may reach an <img> of another user's page
        "ftp://example.com/a.png",
        "https://",
        "https://exa mple.com/a.png",
        "https://example.com/caf\u00e9.png",  # clients percent-encode non-ASCII
        "",
    ],
)
def test_an_image_that_is_no_http_url_is_refused_as_the_document_says(image: str) -> None:
    assert re.search(IMAGE_PATTERN, image) is None
    with pytest.raises(ValidationError) as refused:
        load_image(image)
    assert refused.value.messages == {"user": {"image": ["must be an http(s) URL"]}}


def test_no_image_is_accepted() -> None:
    assert documented_image()["nullable"] is True
    assert load_image(None) is None


@pytest.mark.parametrize(
    ("field", "value"),
    [("username", "anna2\n"), ("email", "anna2@example.com\n")],
)
async def test_a_name_or_address_with_a_final_newline_is_never_stored(
    auth: AppClient, field: str, value: str
) -> None:
    anna = await register(auth, "anna")
    response = await auth.put("/api/user", json={"user": {field: value}}, headers=as_user(anna))
    assert response.status == 422
    errors = (await response.json())["errors"]
    assert errors[field] and errors["body"]
    me = await (await auth.get("/api/user", headers=as_user(anna))).json()
    assert me["user"][field] == {"username": "anna", "email": "anna@example.com"}[field]
