"""The web client: the built single-page application in WEB_DIR, served at `/`.

Any GET or HEAD outside the API and the operational routes is either a file of the build or a
route of the application, answered with its `index.html` (the client routes in the browser).
Hashed files under `/assets/` never change under their name, so browsers keep them for a
year; `index.html` is revalidated on every load (an ETag makes that a 304), so a new build
reaches everyone at their next visit. Without a build the API still runs and the pages say
how to build the client.

Static files are not counted against the rate limits: they are answered from the page cache
without touching Redis or a service, a first visit costs a handful of them, and a counted
page load would spend the anonymous budget of everyone behind one address.

`python -m gateway.webclient [FOLDER]` writes a gzipped copy beside each compressible file of
a build (what `make install` does after building), which the gateway sends to clients that
accept gzip, so the common case costs no compression at all; without copies, text is
compressed as it is sent.
"""

from __future__ import annotations

import asyncio
import gzip
import posixpath
import sys
from pathlib import Path

from aiohttp import web

from shared.web.errors import NotFound

# Nothing outside our origin: no CDN, no inline script or style, no plugin, no framing.
# connect-src 'self' covers the chat's same-origin websocket (ws: and wss:) in current browsers.
WEB_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "frame-ancestors 'none'; form-action 'self'"
)
SECURITY = (
    ("Content-Security-Policy", WEB_CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
)
IMMUTABLE = "public, max-age=31536000, immutable"
# Unhashed files beside index.html (favicon.ico, robots.txt): an hour, then revalidated.
SHORT = "public, max-age=3600"
REVALIDATE = "no-cache"

# Paths the web client never answers, even with its index.html: a mistyped API or health
# URL must get the API's JSON 404, not a page.
RESERVED = ("/api", "/health", "/metrics", "/internal")
ASSETS = "/assets/"

# Set explicitly: the system's MIME table differs between hosts (.js, .webmanifest, .woff2).
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".txt": "text/plain; charset=utf-8",
    ".webmanifest": "application/manifest+json",
    ".wasm": "application/wasm",
}
# Text worth compressing; images and fonts are compressed already.
COMPRESSIBLE = frozenset({".html", ".js", ".mjs", ".css", ".json", ".map", ".svg", ".txt"})
# A missing file with one of these suffixes is a 404, never the application's page: a
# browser asking for /favicon.ico or a stale script must not be handed HTML.
FILE_SUFFIXES = frozenset(CONTENT_TYPES) | {".gz", ".br"}
PRECOMPRESS_MIN_BYTES = 1024
CONDITIONAL = ("If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "Range")

NOT_BUILT_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Chop-chop: web client not built</title></head>
<body>
<h1>The web client is not built</h1>
<p>The API runs: see <a href="/api/docs">/api/docs</a>.</p>
<p>To build the web client, install Node.js 20 or newer and run <code>make install</code>
(or <code>npm ci &amp;&amp; npm run build</code> in <code>web/</code>), then reload this page.</p>
</body>
</html>
"""


def is_reserved(path: str) -> bool:
    """Whether a path is, or resolves to, one the web client never answers; paths with
    control characters are never a page either."""
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in path):
        return True
    # "//internal/x" and "/x/../internal/x" name /internal as well.
    resolved = "/" + posixpath.normpath(path).lstrip("/")
    return any(
        candidate.startswith(("/health", "/metrics"))
        or any(candidate == prefix or candidate.startswith(f"{prefix}/") for prefix in RESERVED)
        for candidate in (path, resolved)
    )


class WebClient:
    def __init__(self, folder: Path) -> None:
        self.folder = folder.resolve()
        self.index = self.folder / "index.html"

    def locate(self, path: str) -> Path | None:
        """The file of the build that a URL path names, or None. The path is the decoded
        one (%2e%2e is already ".."): every segment is checked, and the resolved file must
        still lie inside the folder, so neither dot segments nor symlinks lead out of it."""
        relative = path.lstrip("/")
        if not relative:
            return None
        parts = relative.split("/")
        if any(
            not part or part.startswith(".") or "\\" in part or "\x00" in part for part in parts
        ):
            return None
        try:
            resolved = self.folder.joinpath(*parts).resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        if not resolved.is_relative_to(self.folder) or not resolved.is_file():
            return None
        return resolved

    def _answer(self, path: str) -> tuple[Path | None, str]:
        """What to send for a path: a file and its Cache-Control, or None with why."""
        found = self.locate(path)
        if found is not None and found != self.index:
            return found, IMMUTABLE if path.startswith(ASSETS) else SHORT
        if found is None and (path.startswith(ASSETS) or Path(path).suffix in FILE_SUFFIXES):
            return None, "missing"
        if self.index.is_file():
            return self.index, REVALIDATE
        return None, "not built"

    async def serve(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if request.method not in ("GET", "HEAD") or is_reserved(path):
            raise NotFound(f"no route for {path}")
        loop = asyncio.get_running_loop()
        file, cache = await loop.run_in_executor(None, self._answer, path)
        if file is None:
            if cache == "missing":
                raise NotFound(f"no file {path}")
            return web.Response(
                status=503,
                text=NOT_BUILT_PAGE,
                content_type="text/html",
                headers={"Cache-Control": REVALIDATE, **dict(SECURITY)},
            )
        headers = {"Cache-Control": cache, **dict(SECURITY)}
        content_type = CONTENT_TYPES.get(file.suffix)
        if content_type is not None:
            headers["Content-Type"] = content_type
        response = web.FileResponse(file, headers=headers)
        if file.suffix in COMPRESSIBLE:
            # aiohttp sends a gzipped copy beside the file to clients that accept gzip. A build
            # without copies (`npm run build` alone) is compressed on the way out instead, but
            # only a plain GET: after the head of a 304 or of a HEAD aiohttp would write a
            # compressed empty body, and a range of compressed bytes means nothing.
            response.headers["Vary"] = "Accept-Encoding"
            if request.method == "GET" and not any(h in request.headers for h in CONDITIONAL):
                response.enable_compression()
        return response


def precompress(folder: Path) -> int:
    """Writes `name.gz` beside every compressible file of `folder` that has none or an older
    one; returns how many it wrote."""
    written = 0
    for file in folder.rglob("*"):
        if not file.is_file() or file.suffix not in COMPRESSIBLE:
            continue
        data = file.read_bytes()
        if len(data) < PRECOMPRESS_MIN_BYTES:
            continue
        target = file.with_name(f"{file.name}.gz")
        if target.exists() and target.stat().st_mtime >= file.stat().st_mtime:
            continue
        target.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
        written += 1
    return written


def main() -> int:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "web/dist")
    if not folder.is_dir():
        print(f"{folder} is not a folder", file=sys.stderr)
        return 1
    print(f"{precompress(folder)} files gzipped in {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
