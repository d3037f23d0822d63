"""Sessions: one per sign-in, holding every token issued for it, ended all at once.

Login and registration answer a session token (a JWT that lives as long as the session,
SESSION_TTL) and a refresh token. RealWorld clients keep the session token and never
refresh; our own clients trade the refresh token for short-lived access tokens
(ACCESS_TOKEN_TTL) and a new refresh token, which also moves the session's end forward. All
of them carry the session id (`sid`), so ending the session revokes them together: the
sessions table records it durably, and the gateways learn it at once over pub/sub (see
shared/contracts/revocation.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import redis.asyncio as aioredis

from auth_service import queries
from auth_service.settings import AuthSettings
from auth_service.signing import KeyRing
from shared.contracts.revocation import (
    RESYNC_SECONDS,
    Ended,
    Page,
    announce,
    make_cursor,
    parse_cursor,
)
from shared.tasks import pause, reraise_cancellation
from shared.web.errors import Unauthorized, ValidationFailed

log = logging.getLogger(__name__)

REVOKED_PAGE = 5000
# An announcement Redis refused is tried again after these pauses (doubling up to the max).
ANNOUNCE_RETRY_FIRST = 0.25
ANNOUNCE_RETRY_MAX = 2.0
# Ended sessions are kept a little past their end, then forgotten by the clean-up job.
KEEP_ENDED = timedelta(hours=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def new_secret_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class SignIn:
    """What login, sign-up and refresh answer: the user row and the tokens for the client."""

    user: asyncpg.Record
    access_token: str
    refresh_token: str | None


def ended(rows: Sequence[asyncpg.Record]) -> list[Ended]:
    return [Ended(str(row["id"]), row["expires_at"].timestamp()) for row in rows]


class Sessions:
    def __init__(self, settings: AuthSettings, redis: aioredis.Redis, keys: KeyRing) -> None:
        self.settings = settings
        self.redis = redis
        self.keys = keys
        self._retrying: set[asyncio.Task[None]] = set()

    async def start(
        self,
        connection: asyncpg.Connection,
        user: asyncpg.Record,
        verified_hash: str | None = None,
    ) -> SignIn:
        """A new session in the caller's transaction. `verified_hash` is the password hash a
        login just checked: the session starts only if it is still the account's."""
        if verified_hash is not None and not await queries.user_still_has_password(
            connection, user["id"], verified_hash
        ):
            raise ValidationFailed(
                "email or password is invalid", fields={"email or password": ["is invalid"]}
            )
        session_id = uuid.uuid4()
        now = datetime.now(UTC)
        expires = now + timedelta(seconds=self.settings.session_ttl)
        await queries.insert_session(connection, session_id, user["id"], expires)
        refresh = await self._new_refresh_token(connection, session_id, user["id"], now, expires)
        token = self.keys.issue(
            user["id"],
            user["username"],
            str(session_id),
            int(expires.timestamp()),
            user["role"],
            issued_at=int(now.timestamp()),
        )
        return SignIn(user, token.token, refresh)

    async def _new_refresh_token(
        self,
        connection: asyncpg.Connection,
        session_id: uuid.UUID,
        user_id: int,
        now: datetime,
        session_end: datetime,
    ) -> str:
        refresh = new_secret_token()
        expires = min(now + timedelta(seconds=self.settings.refresh_ttl), session_end)
        await queries.insert_refresh_token(
            connection, token_hash(refresh), session_id, user_id, expires
        )
        return refresh

    async def refresh(self, pool: asyncpg.Pool, refresh_token: str) -> SignIn:
        async with pool.acquire() as connection:
            async with connection.transaction():
                row = await queries.lock_refresh_token(connection, token_hash(refresh_token))
                if row is None:
                    raise Unauthorized("the refresh token is invalid")
                now = datetime.now(UTC)
                if row["revoked_at"] is not None or row["expires_at"] <= now:
                    raise Unauthorized("the refresh token has expired or was revoked")
                if row["used_at"] is None:
                    await queries.mark_refresh_token_used(connection, row["id"])
                    return await self._rotate(connection, row, now)
            # A spent token came back: someone holds a copy. End the whole session.
            async with connection.transaction():
                revoked = await queries.revoke_session(connection, row["family_id"])
        await self.announce(ended(revoked))
        raise Unauthorized("the refresh token was already used; the session is revoked")

    async def _rotate(
        self, connection: asyncpg.Connection, row: asyncpg.Record, now: datetime
    ) -> SignIn:
        user = await queries.get_user(connection, row["user_id"])
        if user is None:
            raise Unauthorized("the account no longer exists")
        session = await queries.extend_session(
            connection, row["family_id"], now + timedelta(seconds=self.settings.session_ttl)
        )
        if session is None:
            raise Unauthorized("the session has ended")
        session_end = session["expires_at"]
        refresh = await self._new_refresh_token(
            connection, row["family_id"], user["id"], now, session_end
        )
        access_end = min(now + timedelta(seconds=self.settings.access_ttl), session_end)
        access = self.keys.issue(
            user["id"],
            user["username"],
            str(row["family_id"]),
            int(access_end.timestamp()),
            user["role"],
            issued_at=int(now.timestamp()),
        )
        return SignIn(user, access.token, refresh)

    async def end(self, connection: asyncpg.Connection, session_id: uuid.UUID) -> list[Ended]:
        """Ends one session in the caller's transaction; announce the result after commit."""
        return ended(await queries.revoke_session(connection, session_id))

    async def end_all(self, connection: asyncpg.Connection, user_id: int) -> list[Ended]:
        """Ends every session of a user in the caller's transaction; announce after commit."""
        return ended(await queries.revoke_user_sessions(connection, user_id))

    async def announce(self, revoked: list[Ended]) -> None:
        """Tells the gateways now. The database already holds the revocation, so a failure
        only delays it: the announcement is tried again in the background while Redis is
        away (a moment, usually: its circuit breaker), and the gateways' next read of the
        list (RESYNC_SECONDS) brings it anyway."""
        try:
            await announce(self.redis, revoked)
        except (aioredis.RedisError, OSError, TimeoutError) as exc:
            log.warning("revocation not announced yet; retrying", extra={"error": repr(exc)})
            task = asyncio.create_task(self._announce_later(revoked))
            self._retrying.add(task)
            task.add_done_callback(self._retrying.discard)

    async def _announce_later(self, revoked: list[Ended]) -> None:
        delay, waited = ANNOUNCE_RETRY_FIRST, 0.0
        while waited < RESYNC_SECONDS:
            await pause(delay)
            waited += delay
            try:
                await announce(self.redis, revoked)
                return
            except (aioredis.RedisError, OSError, TimeoutError):
                reraise_cancellation()
                delay = min(delay * 2, ANNOUNCE_RETRY_MAX)
        log.warning("revocation not announced; gateways read it from the list")

    @staticmethod
    async def revoked_page(connection: asyncpg.Connection, cursor: str | None) -> Page:
        """A page of the sessions ended and not yet expired, after `cursor`; raises
        ValueError when the cursor is malformed."""
        after = None
        if cursor is not None:
            micros, session_id = parse_cursor(cursor)
            after = (
                EPOCH + timedelta(microseconds=micros),
                uuid.UUID(session_id) if session_id else uuid.UUID(int=0),
            )
        rows = await queries.revoked_sessions(connection, after, REVOKED_PAGE)
        last = None
        if rows:
            revoked_at: datetime = rows[-1]["revoked_at"]
            micros = (revoked_at - EPOCH) // timedelta(microseconds=1)
            last = make_cursor(micros, str(rows[-1]["id"]))
        return Page(ended(rows), last, len(rows) == REVOKED_PAGE)

    @staticmethod
    async def forget_ended(pool: asyncpg.Pool, batch: int) -> int:
        async with pool.acquire() as connection:
            return await queries.delete_ended_sessions(
                connection, datetime.now(UTC) - KEEP_ENDED, batch
            )
