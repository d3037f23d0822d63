"""gateway/docs.py: the merged OpenAPI document and Swagger UI."""

from __future__ import annotations

from typing import Any

from openapi_spec_validator import validate

from gateway.docs import merge_documents
from tests.typing import AppClient


def _document(schema_name: str, path: str) -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "x", "version": "1"},
        "paths": {
            path: {
                "post": {
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {"$ref": f"#/components/schemas/{schema_name}"}
                            }
                        }
                    },
                    "responses": {"200": {"description": "ok"}},
                }
            },
            "/internal/secret": {"get": {"responses": {"200": {"description": "ok"}}}},
            "/health": {"get": {"responses": {"200": {"description": "ok"}}}},
        },
        "components": {"schemas": {schema_name: {"type": "object"}}},
    }


def test_merging_keeps_public_paths_and_separates_clashing_schemas() -> None:
    merged = merge_documents(
        {
            "auth": _document("ProfileOut", "/api/users"),
            "social": _document("ProfileOut", "/api/profiles"),
        }
    )
    assert set(merged["paths"]) == {"/api/users", "/api/profiles"}
    assert {"auth_ProfileOut", "social_ProfileOut"} <= set(merged["components"]["schemas"])
    ref = merged["paths"]["/api/users"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ]
    assert ref == {"$ref": "#/components/schemas/auth_ProfileOut"}
    validate(merged)


async def test_docs_page_and_static_files_are_served(gateway: AppClient) -> None:
    page = await gateway.get("/api/docs")
    assert page.status == 200 and "swagger-ui" in await page.text()
    assert (await gateway.get("/api/docs/static/swagger-ui-bundle.js")).status == 200
    assert (await gateway.get("/api/docs/static/init.js")).status == 200
