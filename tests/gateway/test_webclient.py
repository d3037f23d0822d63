"""gateway/webclient.py: the web client's files served at `/`."""

from __future__ import annotations

import asyncio
import gzip
import os
from pathlib import Path

import pytest
from multidict import CIMultiDictProxy

from gateway.webclient import IMMUTABLE, NOT_BUILT_PAGE, WEB_CSP, precompress
from tests.gateway.conftest import Echo, GatewayFactory
from tests.typing import AppClient

INDEX = b'<!doctype html><title>Chop-chop</title><script type="module" src="/assets/app-1a2b.js">'
SCRIPT = b"export const greeting = 'hello';\n" * 200  # big enough to be worth gzipping
STYLE = b"body { margin: 0 }\n" * 200
SECRET = b"the secret beside the build"


@pytest.fixture
def build(tmp_path: Path) -> Path:
    """A build as Vite lays it out, with a file beside it that must never be served."""
    (tmp_path / "secret.txt").write_bytes(SECRET)
    folder = tmp_path / "dist"
    (folder / "assets").mkdir(parents=True)
    (folder / "index.html").write_bytes(INDEX)
    (folder / "assets" / "app-1a2b.js").write_bytes(SCRIPT)
    (folder / "assets" / "app-1a2b.css").write_bytes(STYLE)
    (folder / "assets" / "font-9f8e.woff2").write_bytes(b"wOF2" + bytes(100))
    (folder / "favicon.ico").write_bytes(b"\x00\x00\x01\x00icon")
    (folder / ".env").write_bytes(SECRET)
    (folder / "link.txt").symlink_to(tmp_path / "secret.txt")
    (folder / "assets" / "link").symlink_to(tmp_path)
    return folder


@pytest.fixture
async def web(make_gateway: GatewayFactory, build: Path) -> AppClient:
    return await make_gateway(WEB_DIR=str(build))  # type: ignore[no-any-return]


async def raw_get(client: AppClient, path: str) -> tuple[int, bytes]:
    """GET with the path exactly as written: an HTTP client library would normalise dot
    segments before sending, which is what a test of path traversal must not rely on."""
    assert client.server.port is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", client.server.port)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        async with asyncio.timeout(5):
            answer = await reader.read()
    finally:
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def assert_web_security(headers: CIMultiDictProxy[str]) -> None:
    assert headers.get("Content-Security-Policy") == WEB_CSP
    assert headers.get("X-Content-Type-Options") == "nosniff"
    assert headers.get("Referrer-Policy") == "same-origin"


async def test_the_home_page_is_the_index_revalidated_on_every_load(web: AppClient) -> None:
    response = await web.get("/")
    assert response.status == 200
    assert await response.read() == INDEX
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-cache"
    assert_web_security(response.headers)
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "RateLimit-Limit" not in response.headers
    again = await web.get("/", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status == 304


@pytest.mark.parametrize(
    "path",
    [
        "/index.html",
        "/settings",
        "/article/tomato-soup-1a",
        "/profile/jake.doe",
        "/confirm-email?token=abc",
        "/reset-password?token=abc",
        "/chat/12",
        "/apiary",
        "/recipes/",
    ],
)
async def test_the_applications_routes_answer_with_the_index(web: AppClient, path: str) -> None:
    response = await web.get(path)
    assert response.status == 200
    assert await response.read() == INDEX
    assert response.headers["Cache-Control"] == "no-cache"
    assert_web_security(response.headers)


async def test_head_answers_like_get_without_a_body(web: AppClient) -> None:
    response = await web.head("/chat")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert await response.read() == b""


@pytest.mark.parametrize(
    ("path", "content_type", "body"),
    [
        ("/assets/app-1a2b.js", "text/javascript; charset=utf-8", SCRIPT),
        ("/assets/app-1a2b.css", "text/css; charset=utf-8", STYLE),
        ("/assets/font-9f8e.woff2", "font/woff2", b"wOF2" + bytes(100)),
    ],
)
async def test_hashed_assets_are_kept_for_a_year(
    web: AppClient, path: str, content_type: str, body: bytes
) -> None:
    response = await web.get(path)
    assert response.status == 200
    assert await response.read() == body
    assert response.headers["Content-Type"] == content_type
    assert response.headers["Cache-Control"] == IMMUTABLE == "public, max-age=31536000, immutable"
    assert_web_security(response.headers)
    again = await web.get(path, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status == 304


async def test_the_favicon_is_served_and_revalidated_hourly(web: AppClient) -> None:
    response = await web.get("/favicon.ico")
    assert response.status == 200
    assert response.headers["Content-Type"] == "image/x-icon"
    assert response.headers["Cache-Control"] == "public, max-age=3600"
    assert await response.read() == b"\x00\x00\x01\x00icon"


@pytest.mark.parametrize("path", ["/assets/app-0000.js", "/assets/", "/robots.txt", "/logo.png"])
async def test_a_missing_file_is_404_never_the_page(web: AppClient, path: str) -> None:
    response = await web.get(path)
    assert response.status == 404
    assert "errors" in await response.json()
    assert response.headers.get("Cache-Control") != IMMUTABLE


async def test_gzip_copies_beside_the_files_are_sent_to_clients_that_accept_gzip(
    web: AppClient, build: Path
) -> None:
    assert precompress(build) == 2  # the script and the style; the index is under 1 KB
    response = await web.get("/assets/app-1a2b.js", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["Vary"] == "Accept-Encoding"
    assert (
        int(response.headers["Content-Length"]) == (build / "assets/app-1a2b.js.gz").stat().st_size
    )
    assert await response.read() == SCRIPT  # the client inflates it
    plain = await web.get("/assets/app-1a2b.js", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    assert await plain.read() == SCRIPT


async def test_without_a_gzip_copy_text_is_compressed_on_the_way_out(web: AppClient) -> None:
    response = await web.get("/assets/app-1a2b.css", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["Vary"] == "Accept-Encoding"
    assert await response.read() == STYLE
    font = await web.get("/assets/font-9f8e.woff2", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in font.headers


async def test_conditional_partial_and_head_requests_stay_whole_http(web: AppClient) -> None:
    """Compressing on the way out must not write a body after a 304's or a HEAD's head: the
    next request on the same connection would read it as its answer."""
    first = await web.get("/assets/app-1a2b.css", headers={"Accept-Encoding": "gzip"})
    etag = first.headers["ETag"]
    for _ in range(3):  # one keep-alive connection: a stray body would break the next answer
        again = await web.get(
            "/assets/app-1a2b.css", headers={"Accept-Encoding": "gzip", "If-None-Match": etag}
        )
        assert again.status == 304
        assert await again.read() == b""
        head = await web.head("/assets/app-1a2b.css", headers={"Accept-Encoding": "gzip"})
        assert head.status == 200
        assert await head.read() == b""
    part = await web.get(
        "/assets/app-1a2b.css", headers={"Accept-Encoding": "gzip", "Range": "bytes=0-3"}
    )
    assert part.status == 206
    assert await part.read() == STYLE[:4]
    last = await web.get("/assets/app-1a2b.css", headers={"Accept-Encoding": "gzip"})
    assert await last.read() == STYLE


def test_precompress_writes_only_what_is_missing_or_stale(build: Path) -> None:
    assert precompress(build) == 2
    copy = build / "assets" / "app-1a2b.css.gz"
    assert gzip.decompress(copy.read_bytes()) == STYLE
    assert not (build / "index.html.gz").exists()  # too small to be worth it
    assert not (build / "assets" / "font-9f8e.woff2.gz").exists()  # compressed already
    assert precompress(build) == 0
    source = build / "assets" / "app-1a2b.css"
    source.write_bytes(STYLE + b"p { color: red }\n")
    later = copy.stat().st_mtime + 10
    os.utime(source, (later, later))
    assert precompress(build) == 1
    assert gzip.decompress(copy.read_bytes()).endswith(b"p { color: red }\n")


@pytest.mark.parametrize(
    "path",
    [
        "/../secret.txt",
        "/assets/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/assets/%2e%2e/%2e%2e/secret.txt",
        "/assets/..%2f..%2fsecret.txt",
        "/%2e%2e%2fsecret.txt",
        "/assets/%5c..%5c..%5csecret.txt",
        "/..%5csecret.txt",
        "/link.txt",
        "/assets/link/secret.txt",
        "/.env",
        "/%2eenv",
        "/assets/app-1a2b.js%00.png",
        "//etc/passwd",
        "/%2fetc%2fpasswd",
    ],
)
async def test_no_path_leads_out_of_the_build(web: AppClient, path: str) -> None:
    status, body = await raw_get(web, path)
    assert SECRET not in body and b"root:" not in body
    # Either refused or the application's page, which then shows its own "not found".
    assert status in (400, 404) or (status == 200 and body == INDEX), (status, body[:80])


@pytest.mark.parametrize(
    "path", ["/api", "/internal/users", "/healthz", "/health/live", "/metrics/x", "/internal"]
)
async def test_the_api_and_operational_paths_never_get_the_page(
    web: AppClient, echoes: dict[str, Echo], path: str
) -> None:
    response = await web.get(path)
    assert response.status == 404
    assert "errors" in await response.json()
    assert all(not echo.seen for echo in echoes.values())


@pytest.mark.parametrize(
    "path", ["//internal/users?ids=1", "/x/../internal/users", "///api", "/a%0Ab", "/a%7Fb"]
)
async def test_paths_that_resolve_to_reserved_ones_or_hold_control_characters_are_404(
    web: AppClient, echoes: dict[str, Echo], path: str
) -> None:
    status, body = await raw_get(web, path)
    assert status == 404, (path, body[:80])
    assert b'"errors"' in body
    assert all(not echo.seen for echo in echoes.values())


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
async def test_only_reads_reach_the_web_client(web: AppClient, method: str) -> None:
    response = await web.request(method, "/settings")
    assert response.status == 404
    assert "errors" in await response.json()


async def test_without_a_build_the_page_says_how_to_build_and_the_api_runs(
    make_gateway: GatewayFactory, echoes: dict[str, Echo], tmp_path: Path
) -> None:
    gateway = await make_gateway(WEB_DIR=str(tmp_path / "missing"))
    for path in ("/", "/article/soup"):
        response = await gateway.get(path)
        assert response.status == 503
        text = await response.text()
        assert text == NOT_BUILT_PAGE
        assert "make install" in text and "Node.js 20" in text
        assert response.headers["Cache-Control"] == "no-cache"
        assert_web_security(response.headers)
    assert (await gateway.get("/favicon.ico")).status == 404
    assert (await gateway.get("/api/tags")).status == 200
    assert echoes["posts"].seen[-1]["path"] == "/api/tags"


async def test_an_empty_folder_is_not_a_build(make_gateway: GatewayFactory, tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    gateway = await make_gateway(WEB_DIR=str(tmp_path))
    assert (await gateway.get("/")).status == 503


async def test_static_files_do_not_spend_the_rate_limit(
    make_gateway: GatewayFactory, build: Path
) -> None:
    gateway = await make_gateway(WEB_DIR=str(build), RATE_LIMIT_ANON="3")
    for _ in range(4):
        for path in ("/", "/assets/app-1a2b.js", "/favicon.ico", "/chat"):
            assert (await gateway.get(path)).status == 200
    first = await gateway.get("/api/tags")
    assert first.status == 200
    assert first.headers["RateLimit-Remaining"] == "2"


async def test_the_api_keeps_its_own_security_headers(web: AppClient) -> None:
    response = await web.get("/api/tags")
    assert (
        response.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    )
    docs = await web.get("/api/docs")
    assert "'unsafe-inline'" in docs.headers["Content-Security-Policy"]  # Swagger UI's styles
