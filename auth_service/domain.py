"""Account rules: sign-up, login, token rotation, e-mail confirmation and password reset."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import jwt
import redis.asyncio as aioredis

from auth_service import queries
from auth_service.avatar import avatar_url
from auth_service.hashing import Hashing
from auth_service.mailer import Mail, Mailer
from auth_service.sessions import Sessions, SignIn, new_secret_token, token_hash
from auth_service.settings import AuthSettings
from auth_service.signing import KeyRing
from auth_service.throttle import LoginThrottle
from shared.contracts.profiles import announce_change
from shared.contracts.revocation import Ended
from shared.events import OutboxRelay, record_event
from shared.web.errors import ApiError, Forbidden, NotFound, Unauthorized, ValidationFailed

USER_REGISTERED = "user.registered"
USER_UPDATED = "user.updated"
USER_DELETED = "user.deleted"


# The unique index a violation names -> the field that is taken.
_TAKEN = {"users_username_key": "username", "users_email_key": "email"}


def public_profile(row: asyncpg.Record, default_image: str) -> dict[str, Any]:
    """A user's public fields as every service shows them: the default avatar stands in for
    a missing image here, at the source, so that profiles, authors and chat members agree."""
    return {
        "id": row["id"],
        "username": row["username"],
        "bio": row["bio"],
        "image": row["image"] or default_image,
    }


class Accounts:
    def __init__(
        self,
        settings: AuthSettings,
        pool: asyncpg.Pool,
        redis: aioredis.Redis,
        keys: KeyRing,
        mailer: Mailer,
        relay: OutboxRelay,
    ) -> None:
        self.settings = settings
        self.pool = pool
        self.redis = redis
        self.keys = keys
        self.mailer = mailer
        self.relay = relay
        self.sessions = Sessions(settings, redis, keys)
        self.default_image = avatar_url(settings.public_url)
        self.hashing = Hashing(
            settings.argon2_time_cost,
            settings.argon2_memory_kib,
            settings.argon2_workers,
            settings.argon2_queue,
        )
        # Verified against when the address is unknown, at the same cost as a real account;
        # made by `start`, off the event loop (it takes most of a second at production cost).
        self._dummy_hash = ""
        self.throttle = LoginThrottle(
            redis,
            settings.login_max_failures_account,
            settings.login_max_failures_ip,
            settings.login_window,
        )

    async def start(self) -> None:
        self._dummy_hash = await self.hashing.hash(secrets.token_hex(16))

    # Passwords: argon2id, off the event loop and bounded (auth_service/hashing.py).

    async def hash_password(self, password: str) -> str:
        return await self.hashing.hash(password)

    async def password_matches(self, password_hash: str, password: str) -> bool:
        return await self.hashing.matches(password_hash, password)

    def profile(self, row: asyncpg.Record) -> dict[str, Any]:
        return public_profile(row, self.default_image)

    # Tokens

    def claims_of(self, token: str) -> dict[str, Any]:
        try:
            return self.keys.verify(token)
        except jwt.InvalidTokenError:
            raise Unauthorized("the token is invalid or expired") from None

    # E-mail

    async def _send_email_token(
        self, connection: asyncpg.Connection, user_id: int, email: str, purpose: str
    ) -> None:
        token = new_secret_token()
        ttl = self.settings.confirm_ttl if purpose == "confirm" else self.settings.reset_ttl
        expires = datetime.now(UTC) + timedelta(seconds=ttl)
        await queries.insert_email_token(
            connection, token_hash(token), user_id, purpose, email, expires
        )
        base = self.settings.public_url
        if purpose == "confirm":
            mail = Mail(
                email,
                "Confirm your e-mail address",
                "Welcome to Chop-chop!\n\nConfirm your address by opening this link:\n"
                f"{base}/confirm-email?token={token}\n\n"
                f"Or send this token to POST /api/auth/confirm: {token}\n\n"
                f"The link expires in {ttl // 3600} hours.\n",
            )
        else:
            mail = Mail(
                email,
                "Reset your password",
                "Someone asked to reset your Chop-chop password.\n\n"
                f"Choose a new one here:\n{base}/reset-password?token={token}\n\n"
                f"Or send this token to POST /api/auth/password-reset/confirm: {token}\n\n"
                f"The link expires in {max(ttl // 60, 1)} minutes. "
                "If it was not you, ignore this mail.\n",
            )
        await self.mailer.queue(connection, mail)

    # Flows

    async def register(self, username: str, email: str, password: str) -> SignIn:
        password_hash = await self.hash_password(password)
        async with self.pool.acquire() as connection:
            try:
                async with connection.transaction():
                    user = await queries.insert_user(connection, username, email, password_hash)
                    await record_event(
                        connection,
                        USER_REGISTERED,
                        {**self.profile(user), "email": user["email"]},
                    )
                    session = await self.sessions.start(connection, user)
                    await self._send_email_token(connection, user["id"], email, "confirm")
            except asyncpg.UniqueViolationError as exc:
                raise _taken(exc) from None
        self.relay.wake()
        self.mailer.wake()
        return session

    async def login(self, email: str, password: str, ip: str) -> SignIn:
        await self.throttle.check(email, ip)
        async with self.pool.acquire() as connection:
            user = await queries.get_user_by_email(connection, email)
        # An unknown address costs a hash too, so timing does not tell which addresses exist.
        stored = user["password_hash"] if user else self._dummy_hash
        if not await self.password_matches(stored, password) or user is None:
            await self.throttle.record_failure(email, ip)
            raise ValidationFailed(
                "email or password is invalid", fields={"email or password": ["is invalid"]}
            )
        if self.settings.require_confirmed_email and not user["email_confirmed"]:
            raise Forbidden("confirm your e-mail address before logging in")
        await self.throttle.clear_account(email, ip)
        async with self.pool.acquire() as connection, connection.transaction():
            return await self.sessions.start(connection, user, user["password_hash"])

    async def refresh(self, refresh_token: str) -> SignIn:
        return await self.sessions.refresh(self.pool, refresh_token)

    async def logout(self, token: str) -> None:
        """Ends the session of the token: the token itself, its refresh tokens and every
        access token refreshed from it."""
        claims = self.claims_of(token)
        try:
            session_id = uuid.UUID(str(claims["sid"]))
        except ValueError:
            raise Unauthorized("the token is invalid or expired") from None
        async with self.pool.acquire() as connection, connection.transaction():
            revoked = await self.sessions.end(connection, session_id)
        await self.sessions.announce(revoked)

    async def current(self, user_id: int) -> asyncpg.Record:
        async with self.pool.acquire() as connection:
            user = await queries.get_user(connection, user_id)
        if user is None:
            raise NotFound("user not found")
        return user

    async def update(
        self, user_id: int, changes: dict[str, Any]
    ) -> tuple[asyncpg.Record, SignIn | None]:
        """The updated user; a new password ends every session and starts a new one for the
        caller, whose tokens come back with it."""
        values: dict[str, Any] = {
            k: v for k, v in changes.items() if k in ("username", "email", "bio", "image")
        }
        if "password" in changes:
            values["password_hash"] = await self.hash_password(changes["password"])
        async with self.pool.acquire() as connection:
            try:
                async with connection.transaction():
                    before = await queries.get_user(connection, user_id)
                    if before is None:
                        raise NotFound("user not found")
                    email_changed = (
                        "email" in values and values["email"].lower() != before["email"].lower()
                    )
                    if email_changed:
                        values["email_confirmed"] = False
                    user = (
                        await queries.update_user(connection, user_id, values) if values else before
                    )
                    revoked: list[Ended] = []
                    signed_in = None
                    if "password_hash" in values:
                        revoked = await self.sessions.end_all(connection, user_id)
                        signed_in = await self.sessions.start(connection, user)
                    if any(user[k] != before[k] for k in ("username", "bio", "image", "email")):
                        await record_event(
                            connection,
                            USER_UPDATED,
                            {**self.profile(user), "email": user["email"]},
                        )
                    if email_changed:
                        await self._send_email_token(connection, user_id, user["email"], "confirm")
            except asyncpg.UniqueViolationError as exc:
                raise _taken(exc) from None
        if any(user[k] != before[k] for k in ("username", "bio", "image")):
            # Before the answer: the user's next read anywhere shows the change.
            await announce_change(self.redis, user_id, {before["username"], user["username"]})
        await self.sessions.announce(revoked)
        self.relay.wake()
        self.mailer.wake()
        return user, signed_in

    async def delete(self, user_id: int) -> None:
        async with self.pool.acquire() as connection, connection.transaction():
            revoked = await self.sessions.end_all(connection, user_id)
            user = await queries.get_user(connection, user_id)
            if user is None or not await queries.delete_user(connection, user_id):
                raise NotFound("user not found")
            await record_event(connection, USER_DELETED, {"id": user_id})
        await announce_change(self.redis, user_id, {user["username"]})
        await self.sessions.announce(revoked)
        self.relay.wake()

    async def resend_confirmation(self, user_id: int) -> None:
        async with self.pool.acquire() as connection, connection.transaction():
            user = await queries.get_user(connection, user_id)
            if user is None:
                raise NotFound("user not found")
            if user["email_confirmed"]:
                raise ValidationFailed("the e-mail address is already confirmed")
            await self._send_email_token(connection, user_id, user["email"], "confirm")
        self.mailer.wake()

    async def confirm(self, token: str) -> asyncpg.Record:
        async with self.pool.acquire() as connection, connection.transaction():
            spent = await queries.use_email_token(connection, token_hash(token), "confirm")
            if spent is None or not await queries.confirm_email(
                connection, spent["user_id"], spent["email"]
            ):
                raise ValidationFailed(
                    "the confirmation token is invalid or expired", fields={"token": ["is invalid"]}
                )
            user = await queries.get_user(connection, spent["user_id"])
            assert user is not None
            return user

    async def request_reset(self, email: str) -> None:
        async with self.pool.acquire() as connection, connection.transaction():
            user = await queries.get_user_by_email(connection, email)
            if user is not None:
                await self._send_email_token(connection, user["id"], user["email"], "reset")
        self.mailer.wake()

    async def reset_password(self, token: str, password: str) -> None:
        password_hash = await self.hash_password(password)
        async with self.pool.acquire() as connection, connection.transaction():
            spent = await queries.use_email_token(connection, token_hash(token), "reset")
            if spent is None:
                raise ValidationFailed(
                    "the reset token is invalid or expired", fields={"token": ["is invalid"]}
                )
            await queries.update_user(
                connection, spent["user_id"], {"password_hash": password_hash}
            )
            revoked = await self.sessions.end_all(connection, spent["user_id"])
        await self.sessions.announce(revoked)


def _taken(exc: asyncpg.UniqueViolationError) -> ApiError:
    field = _TAKEN.get(exc.constraint_name or "", "username")
    return ValidationFailed(fields={field: ["has already been taken"]})
