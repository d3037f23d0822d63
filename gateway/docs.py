"""The merged OpenAPI document of every service, and Swagger UI over it."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import aiohttp
import aiohttp_apigami
from aiohttp import web

from gateway.upstreams import Upstream

log = logging.getLogger(__name__)

SWAGGER_STATIC = Path(aiohttp_apigami.__file__).parent / "swagger_ui"
CACHE_SECONDS = 30.0

DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Chop-chop API</title>
  <link rel="stylesheet" href="/api/docs/static/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/api/docs/static/swagger-ui-bundle.js"></script>
  <script src="/api/docs/static/swagger-ui-standalone-preset.js"></script>
  <script src="/api/docs/static/init.js"></script>
</body>
</html>
"""

# A file rather than an inline script, so the page works under a strict Content-Security-Policy.
DOCS_INIT = """window.ui = SwaggerUIBundle({
  url: "/api/openapi.json",
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout"
});
"""


def _rename_refs(node: Any, prefix: str) -> Any:
    if isinstance(node, dict):
        return {
            key: (
                value.replace("#/components/schemas/", f"#/components/schemas/{prefix}", 1)
                if key == "$ref" and isinstance(value, str)
                else _rename_refs(value, prefix)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rename_refs(item, prefix) for item in node]
    return node


def merge_documents(documents: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One OpenAPI 3 document: public paths only, each service's schemas under its own prefix."""
    merged: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {
            "title": "Chop-chop API",
            "version": "1.0.0",
            "description": "Recipes, posts, follows, likes, comments, tags, feeds and chat.",
        },
        "servers": [{"url": "/"}],
        "paths": {},
        "components": {"schemas": {}, "securitySchemes": {}},
        "tags": [],
    }
    seen_tags: set[str] = set()
    for service, document in sorted(documents.items()):
        prefix = f"{service}_"
        document = _rename_refs(document, prefix)
        for path, operations in document.get("paths", {}).items():
            if path.startswith("/api/"):
                merged["paths"][path] = operations
        components = document.get("components", {})
        for name, schema in components.get("schemas", {}).items():
            merged["components"]["schemas"][f"{prefix}{name}"] = schema
        merged["components"]["securitySchemes"].update(components.get("securitySchemes", {}))
        for tag in document.get("tags", []):
            if tag.get("name") not in seen_tags:
                seen_tags.add(tag["name"])
                merged["tags"].append(tag)
    return merged


class DocsCache:
    def __init__(self, upstreams: dict[str, Upstream]) -> None:
        self._upstreams = upstreams
        self._document: dict[str, Any] | None = None
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def _fetch(self, session: aiohttp.ClientSession, upstream: Upstream) -> dict[str, Any]:
        replica = upstream.pick()
        if replica is None:
            return {}
        try:
            async with session.get(
                f"{replica.base_url}/openapi.json", timeout=aiohttp.ClientTimeout(total=5)
            ) as response:
                if response.status == 200:
                    document: dict[str, Any] = await response.json()
                    return document
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning(
                "OpenAPI document not fetched",
                extra={"upstream": upstream.name, "error": repr(exc)},
            )
        return {}

    async def document(self, session: aiohttp.ClientSession) -> dict[str, Any]:
        async with self._lock:
            if self._document is None or time.monotonic() - self._fetched_at > CACHE_SECONDS:
                names = list(self._upstreams)
                documents = await asyncio.gather(
                    *(self._fetch(session, self._upstreams[name]) for name in names)
                )
                self._document = merge_documents(dict(zip(names, documents, strict=True)))
                self._fetched_at = time.monotonic()
            return self._document


async def docs_page(request: web.Request) -> web.Response:
    return web.Response(text=DOCS_PAGE, content_type="text/html")


async def docs_init(request: web.Request) -> web.Response:
    return web.Response(text=DOCS_INIT, content_type="application/javascript")


_STATIC_FILES = frozenset(
    path.name for path in SWAGGER_STATIC.iterdir() if path.suffix in (".css", ".js", ".png")
)


async def docs_static(request: web.Request) -> web.FileResponse:
    """Swagger UI's own files; only names that exist in its folder, so nothing else leaks."""
    name = request.match_info["name"]
    if name not in _STATIC_FILES:
        raise web.HTTPNotFound()
    response = web.FileResponse(SWAGGER_STATIC / name)
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
