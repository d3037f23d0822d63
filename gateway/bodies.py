"""Bodies on their way through the gateway: uploads passed on under a limit, and upstream
answers seen the same way whichever client fetched them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

import aiohttp
from aiohttp import web

from shared.web.errors import PayloadTooLarge

CHUNK = 64 * 1024


class LimitedStream:
    """An upload passed on chunk by chunk, never held whole, cut off past its limit."""

    def __init__(self, request: web.Request, limit: int) -> None:
        self.request = request
        self.limit = limit
        self.exceeded = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        sent = 0
        async for chunk in self.request.content.iter_chunked(CHUNK):
            sent += len(chunk)
            if sent > self.limit:
                self.exceeded = True
                raise PayloadTooLarge(f"the request body is larger than {self.limit} bytes")
            yield chunk


class Answer(Protocol):
    """An upstream's response, whichever client fetched it."""

    status: int
    content_length: int | None

    @property
    def headers(self) -> list[tuple[str, str]]: ...

    async def read(self) -> bytes: ...

    def iter_chunks(self) -> AsyncIterator[bytes]: ...

    def release(self) -> None: ...


class StreamedAnswer:
    """An aiohttp client response (the answer to an upload) seen as an Answer."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self.status = response.status
        self.content_length = response.content_length

    @property
    def headers(self) -> list[tuple[str, str]]:
        return list(self._response.headers.items())

    async def read(self) -> bytes:
        return await self._response.read()

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        async for chunk in self._response.content.iter_chunked(CHUNK):
            yield chunk

    def release(self) -> None:
        self._response.release()
