"""Reports and the bans that follow reports from several people (the general chat's send
budget is in `budget.py`)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from chat_service import compose
from chat_service.queries import moderation as q_moderation
from chat_service.settings import ChatSettings
from chat_service.users import Directory, first_use
from shared.web.errors import Conflict, Forbidden, ValidationFailed
from shared.web.identity import Caller
from shared.web.timefmt import iso

log = logging.getLogger(__name__)


def banned(until: datetime) -> Forbidden:
    """The one answer to any write of a banned user, naming when the ban ends."""
    return Forbidden(f"you are banned from writing to chats until {iso(until)}")


async def check_not_banned(connection: asyncpg.Connection, user_id: int) -> None:
    """403 while the user is banned: a ban stops every write to chats."""
    until = await q_moderation.banned_until(connection, user_id)
    if until is not None:
        raise banned(until)


class Moderation:
    def __init__(self, pool: asyncpg.Pool, settings: ChatSettings, users: Directory) -> None:
        self.pool = pool
        self.settings = settings
        self.users = users

    async def check_not_banned(self, connection: asyncpg.Connection, user_id: int) -> None:
        await check_not_banned(connection, user_id)

    async def _counts(self, reporter_id: int) -> bool:
        """Whether the reporter's word counts toward the automatic ban: an account older than
        `reporter_min_age` with its e-mail confirmed (unless that rule is turned off), so that
        accounts made for the purpose cannot ban anyone."""
        standing = await self.users.auth.standing(reporter_id)
        if standing is None:
            return False
        if self.settings.reporter_require_confirmed and not standing["emailConfirmed"]:
            return False
        created = datetime.fromisoformat(standing["createdAt"].replace("Z", "+00:00"))
        age = (datetime.now(UTC) - created).total_seconds()
        return age >= self.settings.reporter_min_age

    @first_use
    async def report(self, caller: Caller, username: str, reason: str) -> dict[str, Any]:
        """Files a report for the moderators; the `ban_reports`-th that counts, from different
        people within a ban period, bans the reported user from writing for a ban period."""
        await self.users.ensure(caller)
        counted = await self._counts(caller.id)  # asked before any transaction opens
        period = timedelta(seconds=self.settings.ban_seconds)
        async with self.pool.acquire() as connection, connection.transaction():
            reported = await self.users.by_username(connection, username)
            if reported["id"] == caller.id:
                raise ValidationFailed(
                    "you cannot report yourself", fields={"username": ["is yourself"]}
                )
            # The reported user's row orders concurrent reports about them.
            await q_moderation.lock_user(connection, reported["id"])
            since = await q_moderation.report_window_start(connection, reported["id"], period)
            if await q_moderation.has_reported(connection, caller.id, reported["id"], since):
                raise Conflict(f"you have already reported {reported['username']}")
            row = await q_moderation.insert_report(
                connection, caller.id, reported["id"], reason, counted
            )
            reporters = await q_moderation.count_reporters(connection, reported["id"], since)
            banned_until = None
            if (
                counted
                and reporters >= self.settings.ban_reports
                and (await q_moderation.banned_until(connection, reported["id"]) is None)
            ):
                banned_until = datetime.now(UTC) + period
                ban_id = await q_moderation.insert_ban_by(
                    connection,
                    reported["id"],
                    f"reported by {reporters} people",
                    banned_until,
                    None,
                )
                # Dismissing enough of these reports lifts the ban (moderators.py).
                await q_moderation.link_reports_to_ban(connection, reported["id"], since, ban_id)
        if banned_until is not None:
            log.info("user banned", extra={"user_id": reported["id"], "until": iso(banned_until)})
        return {
            "id": row["id"],
            "user": compose.person(reported["username"], reported["image"]),
            "reason": row["reason"],
            "createdAt": iso(row["created_at"]),
        }

    async def bans_of(self, connection: asyncpg.Connection, user_id: int) -> list[dict[str, Any]]:
        rows = await q_moderation.active_bans(connection, user_id)
        return [
            {
                "reason": row["reason"],
                "startsAt": iso(row["starts_at"]),
                "endsAt": iso(row["ends_at"]),
            }
            for row in rows
        ]
