"""What several tests of the real-time part share."""

from __future__ import annotations

import base64
import os
import socket as sockets_module

from tests.typing import AppClient
from tests.vouching import vouched


def raw_socket_that_never_reads(
    replica: AppClient, headers: dict[str, str]
) -> sockets_module.socket:
    """A websocket client that completes the handshake and then reads nothing, with a tiny
    receive buffer, so that the server's writes back up at once."""
    raw = sockets_module.socket()
    raw.setsockopt(sockets_module.SOL_SOCKET, sockets_module.SO_RCVBUF, 4096)
    raw.connect(("127.0.0.1", replica.server.port))
    key = base64.b64encode(os.urandom(16)).decode()
    signed = vouched("GET", "/api/chat/ws", headers)
    identity = "".join(f"{k}: {v}\r\n" for k, v in signed.items() if k.startswith("X-"))
    raw.sendall(
        (
            "GET /api/chat/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"{identity}\r\n"
        ).encode()
    )
    raw.settimeout(5)
    assert raw.recv(12).startswith(b"HTTP/1.1 101")
    return raw
