"""A lean HTTP/1.1 client for calls between our own processes: pooled keep-alive sockets,
responses parsed by llhttp (httptools), bodies buffered or streamed with back-pressure.

aiohttp's ClientSession spends about as much CPU on one small request as the whole rest of a
proxied request (cookies, tracing, redirects, URL objects, decompression, many layers), so
the gateway's forwarding and the services' internal calls go through this instead. It speaks
only what our services need: plain http, requests with a bytes body or none, any response
framing (Content-Length, chunked, close-delimited). A request is never sent twice here; the
caller decides on retries from the error it gets:

- `ConnectFailed`: no connection could be opened, nothing was sent;
- `Disconnected`: the connection closed before a complete response (the request may have
  been processed; `reused` says whether it rode on a kept-alive socket, the classic race
  with a server closing an idle connection);
- `TimeoutError`: no complete answer before the deadline;
- `ProtocolError`: the peer answered something that is not HTTP.
"""

from shared.transport.http1.client import Client
from shared.transport.http1.response import ConnectFailed, Disconnected, ProtocolError, Response

__all__ = ["Client", "ConnectFailed", "Disconnected", "ProtocolError", "Response"]
