"""chat_service's calls to other services: auth's internal routes, asked about an account that
chat's own copy of users does not hold yet. Never called with a transaction open."""

from __future__ import annotations

from typing import Any

from shared.transport.internal import InternalClient
from shared.web.errors import ApiError, NotFound


class AuthUsers:
    def __init__(self, client: InternalClient) -> None:
        self.client = client

    async def by_id(self, user_id: int) -> dict[str, Any]:
        """The account (id, username, image); 404 when auth has none."""
        body = await self.client.request(
            "GET", "auth", "/internal/users", params={"ids": str(user_id)}
        )
        found = [user for user in body["users"] if int(user["id"]) == user_id]
        if not found:
            raise NotFound("user not found")
        return found[0]  # type: ignore[no-any-return]

    async def standing(self, user_id: int) -> dict[str, Any] | None:
        """The account's `emailConfirmed` and `createdAt`; None when auth cannot tell now
        (a report is then filed without counting: every report still reaches moderators)."""
        try:
            body = await self.client.request("GET", "auth", f"/internal/users/{user_id}/standing")
        except ApiError:
            return None
        return body["user"]  # type: ignore[no-any-return]

    async def set_role(self, username: str, role: str) -> dict[str, Any] | None:
        """Sets the role (auth ends the user's sessions); None when auth has no such user.
        Setting a role twice is harmless, so the call may be retried."""
        try:
            body = await self.client.request(
                "PUT",
                "auth",
                f"/internal/users/{username}/role",
                json={"role": role},
                idempotent=True,
            )
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        return body["user"]  # type: ignore[no-any-return]

    async def by_username(self, username: str) -> dict[str, Any] | None:
        """The account of that name, None when auth has none. The name is checked by the
        caller (letters, digits, `_` and `-`), so it is safe in the path."""
        try:
            body = await self.client.request(
                "GET", "auth", f"/internal/users/by-username/{username}"
            )
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        return body["user"]  # type: ignore[no-any-return]
