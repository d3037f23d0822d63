"""A local SMTP catcher that keeps what it receives and lists it over HTTP like Mailpit's API.

`python -m devstack.mailcatcher --smtp-port 1025 --http-port 8025`

HTTP: `GET /api/v1/messages`, `GET /api/v1/message/{ID}`, `GET /api/v1/search?query=to:ADDR`,
`DELETE /api/v1/messages`: the subset of Mailpit's shapes that tests and developers use, so
the same tests run against a real Mailpit.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import signal
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Any

from aiohttp import web
from aiosmtpd.smtp import SMTP, Envelope, Session

MAX_MESSAGES = 1000


@dataclass
class StoredMessage:
    id: str
    message: EmailMessage
    raw_size: int
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def _addresses(self, header: str) -> list[dict[str, str]]:
        values = self.message.get_all(header, [])
        return [{"Name": name, "Address": address} for name, address in getaddresses(values)]

    def _part(self, subtype: str) -> str:
        part = self.message.get_body(preferencelist=(subtype,))
        return str(part.get_content()) if part is not None else ""

    def summary(self) -> dict[str, Any]:
        sender = self._addresses("From")
        text = self._part("plain")
        return {
            "ID": self.id,
            "MessageID": str(self.message.get("Message-ID", "")).strip("<>"),
            "Read": False,
            "From": sender[0] if sender else {"Name": "", "Address": ""},
            "To": self._addresses("To"),
            "Cc": self._addresses("Cc"),
            "Bcc": [],
            "ReplyTo": self._addresses("Reply-To"),
            "Subject": str(self.message.get("Subject", "")),
            "Created": self.created,
            "Tags": [],
            "Size": self.raw_size,
            "Attachments": 0,
            "Snippet": " ".join(text.split())[:250],
        }

    def detail(self) -> dict[str, Any]:
        summary = self.summary()
        return {
            **{k: v for k, v in summary.items() if k not in ("Read", "Created", "Snippet")},
            "ReturnPath": str(self.message.get("Return-Path", "")),
            "Date": self.created,
            "Text": self._part("plain"),
            "HTML": self._part("html"),
            "Inline": [],
            "Attachments": [],
        }


class MailStore:
    def __init__(self) -> None:
        self.messages: list[StoredMessage] = []

    def add(self, raw: bytes) -> StoredMessage:
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        stored = StoredMessage(uuid.uuid4().hex, parsed, len(raw))
        self.messages.append(stored)
        del self.messages[:-MAX_MESSAGES]
        return stored


class CatchingHandler:
    def __init__(self, store: MailStore) -> None:
        self.store = store

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self.store.add(content)
        return "250 Message accepted for delivery"


STORE: web.AppKey[MailStore] = web.AppKey("store", MailStore)


def _listing(messages: list[StoredMessage], request: web.Request) -> web.Response:
    start = int(request.query.get("start", "0") or 0)
    limit = int(request.query.get("limit", "50") or 50)
    newest_first = list(reversed(messages))
    page = newest_first[start : start + limit]
    return web.json_response(
        {
            "total": len(messages),
            "unread": len(messages),
            "count": len(page),
            "messages_count": len(messages),
            "start": start,
            "tags": [],
            "messages": [m.summary() for m in page],
        }
    )


async def list_messages(request: web.Request) -> web.Response:
    return _listing(request.app[STORE].messages, request)


async def search_messages(request: web.Request) -> web.Response:
    query = request.query.get("query", "").strip().lower()
    messages = request.app[STORE].messages
    if query.startswith("to:"):
        address = query[3:].strip('"')
        messages = [
            m for m in messages if any(t["Address"].lower() == address for t in m.summary()["To"])
        ]
    elif query:
        messages = [m for m in messages if query in m.summary()["Subject"].lower()]
    return _listing(messages, request)


async def get_message(request: web.Request) -> web.Response:
    wanted = request.match_info["id"]
    for stored in request.app[STORE].messages:
        if stored.id == wanted:
            return web.json_response(stored.detail())
    return web.json_response({"error": "message not found"}, status=404)


async def delete_messages(request: web.Request) -> web.Response:
    store = request.app[STORE]
    ids: list[str] = []
    if request.body_exists:
        ids = (await request.json()).get("IDs") or []
    store.messages = [m for m in store.messages if ids and m.id not in ids]
    return web.Response(text="ok")


def create_http_app(store: MailStore) -> web.Application:
    app = web.Application()
    app[STORE] = store
    app.router.add_get("/api/v1/messages", list_messages)
    app.router.add_delete("/api/v1/messages", delete_messages)
    app.router.add_get("/api/v1/search", search_messages)
    app.router.add_get("/api/v1/message/{id}", get_message)
    return app


async def serve(host: str, smtp_port: int, http_port: int) -> None:
    store = MailStore()
    loop = asyncio.get_running_loop()
    smtp_server = await loop.create_server(
        lambda: SMTP(CatchingHandler(store), hostname="mailcatcher"), host, smtp_port
    )
    runner = web.AppRunner(create_http_app(store), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, http_port).start()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"mail catcher: smtp {host}:{smtp_port}, http http://{host}:{http_port}", flush=True)
    try:
        await stop.wait()
    finally:
        smtp_server.close()
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--smtp-port", type=int, default=1025)
    parser.add_argument("--http-port", type=int, default=8025)
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.smtp_port, args.http_port))


if __name__ == "__main__":
    main()
