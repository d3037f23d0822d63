"""The list of ended sessions, both sides of it.

Every token names its session (`sid`); ending a session revokes all of its tokens at once.
auth_service keeps the ended sessions in its database (the durable record) and announces
each one on a Redis pub/sub channel. Every gateway keeps a local copy (`Revocations`), so
checking a token costs a dictionary look-up instead of a round trip. The copy is loaded from
auth_service after subscribing (so nothing announced meanwhile is missed), read again from
where it stopped after every reconnection and every `resync` seconds (an announcement lost
while Redis or the network failed arrives then), and answers from what it knows while Redis
or auth_service is unreachable. Redis keeps nothing of it: flushing or restarting Redis
loses no revocation.

The load is paged by a cursor `<microseconds of revoked_at>.<session id>`; a gateway reads
again from a little before its cursor, so that a revocation whose transaction committed
after a later one is not skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from shared.tasks import pause, reraise_cancellation
from shared.web.schemas import decimal

log = logging.getLogger(__name__)

CHANNEL = "revocations"
# Tokens are accepted up to this many seconds past their expiry (clock skew): keep their
# revocation as long.
EXPIRY_MARGIN = 10.0
RESYNC_SECONDS = 30.0
# How far back a gateway reads again: longer than any transaction that ends sessions.
REREAD_SECONDS = 60
ANNOUNCE_TIMEOUT = 2.0


@dataclass(frozen=True)
class Ended:
    session_id: str
    expires_at: float  # no token of the session is valid after this


@dataclass(frozen=True)
class Page:
    ended: list[Ended]
    cursor: str | None  # the cursor of the page's last item; None when the page is empty
    more: bool


Loader = Callable[[str | None], Awaitable[Page]]


def page_to_json(page: Page) -> dict[str, Any]:
    """The body of auth_service's `GET /internal/sessions/revoked`."""
    return {
        "sessions": [{"id": e.session_id, "expiresAt": e.expires_at} for e in page.ended],
        "cursor": page.cursor,
        "more": page.more,
    }


def page_from_json(body: Any) -> Page:
    """Raises KeyError, TypeError or ValueError when the body is not a page."""
    ended = [Ended(str(item["id"]), float(item["expiresAt"])) for item in body["sessions"]]
    cursor = body["cursor"]
    if cursor is not None:
        parse_cursor(str(cursor))
    return Page(ended, None if cursor is None else str(cursor), bool(body["more"]))


def parse_cursor(cursor: str) -> tuple[int, str]:
    """(microseconds, session id or "") of a cursor; raises ValueError when malformed."""
    micros, _, session_id = cursor.partition(".")
    value = decimal(micros)
    if value is None:
        raise ValueError("a cursor starts with its time in microseconds")
    return value, session_id


def make_cursor(micros: int, session_id: str = "") -> str:
    return f"{micros}.{session_id}"


async def announce(redis: aioredis.Redis, ended: Iterable[Ended]) -> None:
    """Tells every gateway at once; raises on a Redis failure (the gateways' next resync
    brings the revocation anyway)."""
    items = list(ended)
    if not items:
        return
    async with asyncio.timeout(ANNOUNCE_TIMEOUT):
        for attempt in (1, 2):
            try:
                async with redis.pipeline(transaction=False) as pipe:
                    for item in items:
                        pipe.publish(CHANNEL, f"{item.session_id} {int(item.expires_at)}")
                    await pipe.execute()
                return
            except aioredis.ConnectionError:
                # After a Redis restart the first pooled connection used is a dead one; a
                # new connection on the second attempt reaches the new server.
                if attempt == 2:
                    raise


class Revocations:
    def __init__(self, redis: aioredis.Redis, load: Loader, resync: float = RESYNC_SECONDS) -> None:
        self._redis = redis
        self._load = load
        self._resync = resync
        self._revoked: dict[str, float] = {}  # session id -> when its tokens expire anyway
        self._cursor: str | None = None
        self._stopping = False
        self.ready = asyncio.Event()  # set once the whole list has been loaded
        # Called with each session id as it becomes revoked here (open websockets close).
        self.listeners: list[Callable[[str], None]] = []

    def _revoke(self, session_id: str, expires_at: float) -> None:
        known = session_id in self._revoked
        self._revoked[session_id] = expires_at
        if not known:
            for listener in self.listeners:
                listener(session_id)

    def is_revoked(self, session_id: str) -> bool:
        expires_at = self._revoked.get(session_id)
        if expires_at is None:
            return False
        if expires_at + EXPIRY_MARGIN < time.time():
            del self._revoked[session_id]
            return False
        return True

    def _add(self, message: str) -> None:
        session_id, _, expires = message.partition(" ")
        try:
            self._revoke(session_id, float(expires))
        except ValueError:
            log.warning("malformed revocation message ignored")

    async def sync(self) -> None:
        """Reads what auth_service revoked since the last read (everything, the first time)."""
        cursor = self._cursor
        if cursor is not None:
            micros, _ = parse_cursor(cursor)
            cursor = make_cursor(micros - REREAD_SECONDS * 1_000_000)
        newest = self._cursor
        while True:
            page = await self._load(cursor)
            for item in page.ended:
                self._revoke(item.session_id, item.expires_at)
            if page.cursor is None:
                break
            cursor = newest = page.cursor
            if not page.more:
                break
        self._cursor = newest
        now = time.time()
        self._revoked = {s: e for s, e in self._revoked.items() if e + EXPIRY_MARGIN >= now}

    def stop(self) -> None:
        self._stopping = True

    async def run(self) -> None:
        """Follows the channel until stopped; reconnects (and reads again) after any failure."""
        while not self._stopping:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(CHANNEL)
                await self._follow(pubsub)
            except (aioredis.RedisError, OSError) as exc:
                reraise_cancellation()
                log.warning("revocation feed interrupted; retrying", extra={"error": repr(exc)})
                await pause(1.0)
            finally:
                with contextlib.suppress(aioredis.RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _follow(self, pubsub: aioredis.client.PubSub) -> None:
        due = 0.0  # read the list at once: announcements made while unsubscribed were missed
        while not self._stopping:
            reraise_cancellation()  # one that vanished in the last turn: see shared/tasks.py
            if time.monotonic() >= due:
                try:
                    await self.sync()
                except Exception as exc:
                    # Whatever failed (auth down, a bad answer), the copy keeps what it has
                    # and the feed goes on; the read is tried again soon.
                    log.warning("revocation list not loaded", extra={"error": repr(exc)})
                    due = time.monotonic() + 1.0
                else:
                    self.ready.set()
                    due = time.monotonic() + self._resync
            message = await pubsub.get_message(timeout=0.25)
            if message is not None and message.get("type") == "message":
                self._add(str(message["data"]))
