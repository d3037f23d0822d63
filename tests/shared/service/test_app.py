"""The app factory's behaviour that every service inherits: errors, request ids, health, metrics."""

import gc
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp_apigami import docs, request_schema
from marshmallow import Schema, fields, validate
from pytest_aiohttp import AiohttpClient

from shared.data.migrations import MigrationError
from shared.service.app import create_service_app
from shared.service.collector import GC_THRESHOLDS, settle_garbage_collector
from shared.settings import CommonSettings, Env
from shared.web.errors import Conflict, NotFound, ValidationFailed
from tests.infra import Infra, _with_database
from tests.typing import AppClient


class DishIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=3))
    minutes = fields.Integer(required=True)


class DishEnvelope(Schema):
    dish = fields.Nested(DishIn, required=True)


@docs(summary="Create a dish")
@request_schema(DishEnvelope)
async def create_dish(request: web.Request) -> web.Response:
    dish = request["data"]["dish"]
    if dish["name"] == "taken":
        raise Conflict(fields={"name": ["has already been taken"]})
    return web.json_response({"dish": dish}, status=201)


async def missing(request: web.Request) -> web.Response:
    raise NotFound("dish not found")


async def crash(request: web.Request) -> web.Response:
    raise RuntimeError("database password is hunter2")


def build_app(infra: Infra, database_url: str | None = None) -> web.Application:
    env = infra.env()
    if database_url:
        env["DATABASE_URL"] = database_url
    settings = CommonSettings.from_env("kitchen", 0, Env(env))
    routes = [
        web.post("/dishes", create_dish),
        web.get("/dishes/missing", missing),
        web.get("/crash", crash),
    ]
    return create_service_app(settings, title="Kitchen", routes=routes, schema="kitchen")


@pytest.fixture
async def client(infra: Infra, aiohttp_client: AiohttpClient) -> AppClient:
    return await aiohttp_client(build_app(infra))


async def test_valid_request_passes_through(client: AppClient) -> None:
    response = await client.post("/dishes", json={"dish": {"name": "soup", "minutes": 20}})
    assert response.status == 201
    assert (await response.json()) == {"dish": {"name": "soup", "minutes": 20}}


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"dish": {"minutes": 3}}, "name", "is required"),  # missing field
        ({"dish": {"name": "ab", "minutes": 3}}, "name", "shorter than minimum length 3"),
        ({"dish": {"name": "soup", "minutes": "x"}}, "minutes", "must be an integer"),
        ({"dish": {"name": "soup", "minutes": 3, "salt": 1}}, "salt", "is not a known field"),
        ({}, "dish", "is required"),  # no envelope
    ],
)
async def test_validation_errors_are_422_with_per_field_messages(
    client: AppClient, payload: dict[str, Any], field: str, message: str
) -> None:
    response = await client.post("/dishes", json=payload)
    assert response.status == 422
    body = await response.json()
    assert body["errors"][field] == [message]
    assert f"{field} {message}" in body["errors"]["body"]


async def test_malformed_json_is_400(client: AppClient) -> None:
    response = await client.post(
        "/dishes", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status == 400
    assert (await response.json()) == {"errors": {"body": ["the request body is not valid JSON"]}}


async def test_wrong_content_type_is_400(client: AppClient) -> None:
    response = await client.post("/dishes", data=b"name=soup")
    assert response.status == 400
    assert "must be JSON" in (await response.json())["errors"]["body"][0]


async def test_domain_errors_keep_their_status_and_fields(client: AppClient) -> None:
    response = await client.post("/dishes", json={"dish": {"name": "taken", "minutes": 1}})
    assert response.status == 409
    assert (await response.json()) == {
        "errors": {"body": ["name has already been taken"], "name": ["has already been taken"]}
    }


async def test_not_found_and_unknown_routes_use_the_error_format(client: AppClient) -> None:
    response = await client.get("/dishes/missing")
    assert (response.status, await response.json()) == (
        404,
        {"errors": {"body": ["dish not found"]}},
    )
    response = await client.get("/nowhere")
    assert response.status == 404
    assert (await response.json())["errors"]["body"] == ["not found"]


async def test_wrong_method_is_405_with_allow_header(client: AppClient) -> None:
    response = await client.delete("/dishes")
    assert response.status == 405
    assert "POST" in response.headers["Allow"]
    assert (await response.json())["errors"]["body"] == ["method not allowed"]


async def test_unexpected_exception_is_500_without_internals(
    client: AppClient, caplog: pytest.LogCaptureFixture
) -> None:
    response = await client.get("/crash", headers={"X-Request-ID": "req-crash-1"})
    assert response.status == 500
    body = await response.text()
    assert "hunter2" not in body and "RuntimeError" not in body
    assert (await response.json()) == {"errors": {"body": ["internal server error"]}}
    assert response.headers["X-Request-ID"] == "req-crash-1"
    assert any(record.message == "unhandled error" for record in caplog.records)


async def test_request_id_is_echoed_or_made(client: AppClient) -> None:
    sent = await client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert sent.headers["X-Request-ID"] == "abc-123"
    made = await client.get("/health")
    assert len(made.headers["X-Request-ID"]) == 32


async def test_a_forged_request_id_is_replaced(client: AppClient) -> None:
    response = await client.get("/health", headers={"X-Request-ID": "x\ty" * 50})
    assert response.headers["X-Request-ID"] != "x\ty" * 50


async def test_health_and_readiness_answer_ok(client: AppClient) -> None:
    assert (await client.get("/health")).status == 200
    response = await client.get("/health/ready")
    assert response.status == 200
    assert (await response.json()) == {
        "status": "ok",
        "checks": {"database": "ok", "redis": "ok"},
    }


async def test_readiness_is_503_when_the_database_is_unreachable(
    infra: Infra, db: asyncpg.Connection, aiohttp_client: AiohttpClient
) -> None:
    await db.execute("DROP DATABASE IF EXISTS readiness_probe WITH (FORCE)")
    await db.execute("CREATE DATABASE readiness_probe")
    client = await aiohttp_client(
        build_app(infra, _with_database(infra.database_url, "readiness_probe"))
    )
    assert (await client.get("/health/ready")).status == 200
    await db.execute("DROP DATABASE readiness_probe WITH (FORCE)")
    response = await client.get("/health/ready")
    assert response.status == 503
    body = await response.json()
    assert body["checks"]["database"].startswith("unavailable")
    assert body["checks"]["redis"] == "ok"


async def test_metrics_count_requests_by_route_and_status(client: AppClient) -> None:
    await client.get("/dishes/missing")
    text = await (await client.get("/metrics")).text()
    assert (
        'http_requests_total{method="GET",route="/dishes/missing",service="kitchen",status="404"} 1.0'
        in text
    )
    assert "http_request_duration_seconds_bucket" in text


async def test_openapi_document_lists_the_routes_with_schemas(client: AppClient) -> None:
    spec = await (await client.get("/openapi.json")).json()
    assert spec["openapi"] == "3.0.3"
    operation = spec["paths"]["/dishes"]["post"]
    assert operation["summary"] == "Create a dish"
    assert "DishEnvelope" in spec["components"]["schemas"]


def test_a_field_named_body_leaves_the_sentences_in_place() -> None:
    # A message's text is a field called "body": its errors read in the sentences.
    error = ValidationFailed(fields={"body": ["must not be blank"], "title": ["is required"]})
    assert error.body() == {
        "errors": {
            "body": ["body must not be blank", "title is required"],
            "title": ["is required"],
        }
    }


def test_a_started_service_freezes_what_lives_and_spaces_the_collector_passes() -> None:
    before = gc.get_threshold()
    try:
        settle_garbage_collector()
        assert gc.get_threshold() == GC_THRESHOLDS
        assert gc.get_freeze_count() > 0
        young: list[object] = []
        young.append(young)  # a cycle made after startup is still collected
        del young
        assert gc.collect() >= 1
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


async def test_a_service_refuses_to_start_on_a_changed_migration_and_applies_none(
    infra: Infra, db: asyncpg.Connection, tmp_path: Path
) -> None:
    await db.execute("DROP SCHEMA IF EXISTS kitchen_upgrade CASCADE")
    (tmp_path / "001_dishes.sql").write_text("CREATE TABLE dishes (id int);")
    settings = CommonSettings.from_env("kitchen", 0, Env(infra.env()))

    def kitchen() -> web.Application:
        return create_service_app(
            settings,
            title="Kitchen",
            routes=[],
            schema="kitchen_upgrade",
            migrations=tmp_path,
            events=True,
        )

    # Started once: its migrations and the event tables' are applied.
    runner = web.AppRunner(kitchen())
    await runner.setup()
    await runner.cleanup()
    # The event tables' migration as if its file had changed since, and a new one pending.
    await db.execute("UPDATE kitchen_upgrade.events_migrations SET checksum = 'other'")
    (tmp_path / "002_plates.sql").write_text("CREATE TABLE plates (id int);")

    with pytest.raises(MigrationError, match=r"events/migrations/001_events\.sql changed"):
        await web.AppRunner(kitchen()).setup()

    assert await db.fetchval("SELECT to_regclass('kitchen_upgrade.plates')") is None
    await db.execute("DROP SCHEMA kitchen_upgrade CASCADE")
