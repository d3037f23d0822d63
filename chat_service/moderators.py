"""What moderators (and admins) do: the report queue, resolving reports, bans by hand and
lifting them, removing messages of the general chat, setting roles (admins, through auth),
and the audit log that records every moderator action of every service.

The log lives here, in chat_service, which already keeps reports and bans: posts_service
tells its moderator actions as `moderation.action` events (through its outbox, so none is
lost), recorded once each; one table answers `GET /api/moderation/log` in one query."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from chat_service import compose
from chat_service.clients import AuthUsers
from chat_service.live.publisher import Publisher
from chat_service.notifications import MODERATION_ACTION
from chat_service.queries import moderation as q_moderation
from chat_service.queries import users as q_users
from chat_service.settings import ChatSettings
from chat_service.users import Directory, first_use
from shared.events import record_event
from shared.web.errors import Conflict, Forbidden, NotFound, ValidationFailed
from shared.web.identity import Caller
from shared.web.timefmt import iso

log = logging.getLogger(__name__)

JSON = dict[str, Any]


def require_moderator(caller: Caller) -> None:
    if not caller.moderates:
        raise Forbidden("only moderators can do this")


def require_admin(caller: Caller) -> None:
    if caller.role != "admin":
        raise Forbidden("only admins can change roles")


class Moderators:
    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: ChatSettings,
        users: Directory,
        publisher: Publisher,
        auth: AuthUsers,
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.users = users
        self.publisher = publisher
        self.auth = auth

    async def _log(
        self,
        connection: asyncpg.Connection,
        caller: Caller,
        action: str,
        target: str,
        reason: str | None,
    ) -> None:
        await q_moderation.log_action(
            connection, caller.id, caller.username, "chat", action, target, reason
        )

    # The report queue.

    async def reports(
        self, caller: Caller, status: str | None, limit: int, offset: int
    ) -> tuple[list[JSON], int]:
        require_moderator(caller)
        async with self.pool.acquire() as connection:
            rows, count = await q_moderation.reports_page(connection, status, limit, offset)
        return [self._report(row) for row in rows], count

    @staticmethod
    def _report(row: asyncpg.Record) -> JSON:
        return {
            "id": row["id"],
            "reporter": compose.person(row["reporter_username"], row["reporter_image"]),
            "reported": compose.person(row["reported_username"], row["reported_image"]),
            "reason": row["reason"],
            "counted": row["counted"],
            "createdAt": iso(row["created_at"]),
            "status": row["status"],
            "resolution": row["resolution"],
        }

    async def resolve(self, caller: Caller, report_id: int, action: str, note: str | None) -> JSON:
        """Dismisses or upholds an open report; dismissing the reports behind an automatic ban
        until fewer than `ban_reports` reporters stand lifts it."""
        require_moderator(caller)
        resolution = "dismissed" if action == "dismiss" else "upheld"
        lifted = False
        async with self.pool.acquire() as connection, connection.transaction():
            row = await q_moderation.resolve_report(
                connection, report_id, resolution, caller.id, note
            )
            if row is None:
                if await q_moderation.report_exists(connection, report_id):
                    raise Conflict("the report is already resolved")
                raise NotFound("report not found")
            if resolution == "dismissed" and row["ban_id"] is not None:
                standing = await q_moderation.standing_reports_of_ban(connection, row["ban_id"])
                if standing < self.settings.ban_reports:
                    lifted = await q_moderation.lift_ban(connection, row["ban_id"], caller.id)
            report = self._report(await q_moderation.report_by_id(connection, report_id))
            await self._log(connection, caller, f"report.{action}", f"report:{report_id}", note)
            if lifted:
                target = f"user:{report['reported']['username']}"
                reason = "the reports behind the ban were dismissed"
                await self._log(connection, caller, "ban.lift", target, reason)
        return report

    # Bans.

    async def bans(self, caller: Caller) -> list[JSON]:
        require_moderator(caller)
        async with self.pool.acquire() as connection:
            rows = await q_moderation.active_bans_all(connection)
        return [
            {
                "user": compose.person(row["username"], row["image"]),
                "until": iso(row["ends_at"]),
                "reason": row["reason"],
                "by": compose.person(row["by_username"], row["by_image"])
                if row["by_username"] is not None
                else None,
            }
            for row in rows
        ]

    @first_use
    async def ban(self, caller: Caller, username: str, seconds: int, reason: str) -> JSON:
        """Bans by hand; the user's open sockets hear `moderation.banned` at once."""
        require_moderator(caller)
        await self.users.ensure(caller)
        until = datetime.now(UTC) + timedelta(seconds=seconds)
        async with self.pool.acquire() as connection, connection.transaction():
            user = await self.users.by_username(connection, username)
            if user["id"] == caller.id:
                raise ValidationFailed(fields={"username": ["is yourself"]})
            await q_moderation.insert_ban_by(connection, user["id"], reason, until, caller.id)
            await self._log(connection, caller, "ban", f"user:{user['username']}", reason)
            told = {
                "authorId": user["id"],
                "moderatorId": caller.id,
                "moderator": caller.username,
                "service": "chat",
                "action": "ban",
                "target": f"user:{user['username']}",
                "reason": reason,
            }
            await record_event(connection, MODERATION_ACTION, told)  # the user is told why
            (me,) = await q_users.users_by_ids(connection, [caller.id])
        ban = {
            "user": compose.person(user["username"], user["image"]),
            "until": iso(until),
            "reason": reason,
            "by": compose.person(me["username"], me["image"]),
        }
        self.publisher.outbox_written()
        event = {"until": ban["until"], "reason": reason}
        await self.publisher.user_event(user["id"], compose.event("moderation.banned", event))
        log.info("user banned by a moderator", extra={"user_id": user["id"]})
        return ban

    @first_use
    async def lift(self, caller: Caller, username: str) -> None:
        require_moderator(caller)
        async with self.pool.acquire() as connection, connection.transaction():
            user = await self.users.by_username(connection, username)
            if not await q_moderation.lift_bans_of(connection, user["id"], caller.id):
                raise NotFound(f"{user['username']} is not banned")
            await self._log(connection, caller, "ban.lift", f"user:{user['username']}", None)

    # Roles (auth stores them; chat serves the route of the moderation API).

    async def set_role(self, caller: Caller, username: str, role: str) -> JSON:
        require_admin(caller)
        user = await self.auth.set_role(username, role)
        if user is None:
            raise NotFound(f"user {username} not found", fields={"username": ["not found"]})
        async with self.pool.acquire() as connection:
            await self._log(
                connection, caller, "role.set", f"user:{user['username']}", f"role {role}"
            )
        return {"username": user["username"], "image": user["image"], "role": user["role"]}

    # The audit log.

    async def log(self, caller: Caller, limit: int, offset: int) -> list[JSON]:
        require_moderator(caller)
        async with self.pool.acquire() as connection:
            rows = await q_moderation.log_page(connection, limit, offset)
        return [
            {
                "id": row["id"],
                "moderator": row["moderator"],
                "service": row["service"],
                "action": row["action"],
                "target": row["target"],
                "reason": row["reason"],
                "createdAt": iso(row["created_at"]),
            }
            for row in rows
        ]

    async def record(self, connection: asyncpg.Connection, event_id: str, data: JSON) -> None:
        """A moderator action another service told (`moderation.action`), recorded once."""
        await q_moderation.log_action(
            connection,
            int(data["moderatorId"]),
            str(data["moderator"]),
            str(data["service"]),
            str(data["action"]),
            str(data["target"]),
            data.get("reason"),
            event_id,
        )
