"""The error middleware's mapping of a database outage, and the input checks of every route."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import make_mocked_request

from shared.web.errors import ValidationFailed, response_for_error
from shared.web.middleware import MAX_JSON_DEPTH, check_json_value
from shared.web.openapi import complete_document


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.InterfaceError("cannot call Connection.fetch(): connection is closed"),
        # What a pooled connection broken by a PostgreSQL restart raises on its next query.
        asyncpg.InternalClientError(
            "cannot switch to state 12; another operation (2) is in progress"
        ),
    ],
)
def test_a_database_outage_is_a_503_with_retry_after(exc: Exception) -> None:
    response = response_for_error(make_mocked_request("GET", "/"), exc)
    assert response.status == 503
    assert response.headers["Retry-After"] == "1"


def test_a_file_error_of_a_handler_stays_a_500() -> None:
    try:
        open("/nonexistent/file")  # noqa: SIM115
    except OSError as exc:
        response = response_for_error(make_mocked_request("GET", "/"), exc)
    assert response.status == 500


def test_json_checks_name_the_field() -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_json_value({"article": {"ingredients": [{"name": "a\x00"}]}})
    assert caught.value.fields == {"ingredients.0.name": ["must not contain a NUL character"]}
    with pytest.raises(ValidationFailed) as caught:
        check_json_value({"article": {"cookingMinutes": 2**63}})
    assert caught.value.fields == {"cookingMinutes": ["is out of range"]}
    check_json_value({"user": {"id": 2**63 - 1, "bio": "fine"}})


def test_json_deeper_than_the_limit_is_refused_without_recursion() -> None:
    deep: object = []
    for _ in range(10_000):
        deep = [deep]
    with pytest.raises(ValidationFailed):
        check_json_value(deep)
    nested: object = []
    for _ in range(MAX_JSON_DEPTH - 1):
        nested = [nested]
    check_json_value(nested)


def test_the_document_lists_the_errors_of_each_operation() -> None:
    document: dict[str, Any] = {
        "paths": {
            "/api/things/{id}": {
                "delete": {"security": [{"Token": []}], "responses": {"204": {}}},
                "get": {"responses": {"200": {"description": "a thing"}}},
            }
        }
    }
    complete_document(document)
    operations = document["paths"]["/api/things/{id}"]
    # Any request may be malformed HTTP, a path-only one too (a schemathesis run sent a
    # Content-Length that was no number, and the 400 was undocumented).
    assert set(operations["delete"]["responses"]) == {
        "204",
        "400",
        "401",
        "403",
        "404",
        "422",
        "429",
        "503",
    }
    assert set(operations["get"]["responses"]) == {"200", "400", "404", "422", "429", "503"}
    error = document["components"]["schemas"]["Error"]
    assert error["properties"]["errors"]["additionalProperties"]["type"] == "array"


def test_a_malformed_multipart_header_is_a_400_that_quotes_nothing() -> None:
    from aiohttp.http_exceptions import InvalidHeader

    response = response_for_error(make_mocked_request("POST", "/"), InvalidHeader(b"quoted"))
    assert response.status == 400
    assert response.body is not None and b"quoted" not in bytes(response.body)  # type: ignore[arg-type]
