"""The public API through the gateway, a method per call: users, chats and messages,
notifications, moderation and files; `chat_client.connection` does the plumbing (tokens and
their renewal, errors), `chat_client.files` the files' transfers."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import cast
from urllib.parse import quote

import aiohttp

from chat_client import files
from chat_client.connection import Connection
from chat_client.errors import LoginRequired
from chat_client.models import JSON, Attachment, Chat, Message, UnreadChat
from chat_client.state import Session, SessionStore


class ChatApi:
    """The calls of the public API against one gateway, on behalf of the saved session (if
    any)."""

    def __init__(self, gateway: str, store: SessionStore, *, timeout: float = 30.0) -> None:
        self.connection = Connection(gateway, store, timeout=timeout)

    async def __aenter__(self) -> ChatApi:
        await self.connection.__aenter__()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.connection.__aexit__(*exc_info)

    @property
    def store(self) -> SessionStore:
        return self.connection.store

    @property
    def session(self) -> Session | None:
        return self.connection.session

    def require_session(self) -> Session:
        return self.connection.require_session()

    def websocket(self) -> contextlib.AbstractAsyncContextManager[aiohttp.ClientWebSocketResponse]:
        """The live connection; the token travels in the query, as the contract says."""
        return self.connection.websocket()

    # Users and authentication

    async def register(self, username: str, email: str, password: str) -> Session:
        body = await self.connection.call(
            "POST",
            "/api/users",
            json={"user": {"username": username, "email": email, "password": password}},
            auth=False,
        )
        return self.connection.start_session(body["user"])

    async def login(self, email: str, password: str) -> Session:
        body = await self.connection.call(
            "POST",
            "/api/users/login",
            json={"user": {"email": email, "password": password}},
            auth=False,
        )
        return self.connection.start_session(body["user"])

    async def logout(self) -> None:
        """Revokes the tokens at the gateway; an already dead token counts as logged out."""
        # Not renewed first: renewing only to revoke at once would be a wasted rotation.
        with contextlib.suppress(LoginRequired):
            await self.connection.call("POST", "/api/auth/logout", renew=False)

    # Chats and messages

    async def list_chats(self) -> list[Chat]:
        body = await self.connection.call("GET", "/api/chats")
        return cast(list[Chat], body["chats"])

    async def open_direct(self, username: str) -> Chat:
        body = await self.connection.call(
            "POST", "/api/chats", json={"chat": {"type": "direct", "username": username}}
        )
        return cast(Chat, body["chat"])

    async def chat(self, chat_id: int) -> Chat:
        """One chat with its members (`members`: username, image, online, role)."""
        body = await self.connection.call("GET", f"/api/chats/{chat_id}")
        return cast(Chat, body["chat"])

    async def create_group(self, title: str, description: str | None, private: bool) -> Chat:
        chat: JSON = {"type": "group", "title": title, "private": private}
        if description is not None:
            chat["description"] = description
        body = await self.connection.call("POST", "/api/chats", json={"chat": chat})
        return cast(Chat, body["chat"])

    async def update_chat(self, chat_id: int, changes: JSON) -> Chat:
        body = await self.connection.call("PATCH", f"/api/chats/{chat_id}", json={"chat": changes})
        return cast(Chat, body["chat"])

    async def delete_chat(self, chat_id: int) -> None:
        await self.connection.call("DELETE", f"/api/chats/{chat_id}")

    async def add_member(self, chat_id: int, username: str) -> JSON:
        body = await self.connection.call(
            "POST", f"/api/chats/{chat_id}/members", json={"username": username}
        )
        return cast(JSON, body.get("member", {}) if isinstance(body, dict) else {})

    async def remove_member(self, chat_id: int, username: str) -> None:
        await self.connection.call(
            "DELETE", f"/api/chats/{chat_id}/members/{quote(username, safe='')}"
        )

    async def create_invite(self, chat_id: int, expires_in: int | None) -> JSON:
        invite: JSON = {} if expires_in is None else {"expiresInSeconds": expires_in}
        body = await self.connection.call(
            "POST", f"/api/chats/{chat_id}/invites", json={"invite": invite}
        )
        return cast(JSON, body["invite"])

    async def invites(self, chat_id: int) -> list[JSON]:
        body = await self.connection.call("GET", f"/api/chats/{chat_id}/invites")
        return cast(list[JSON], body["invites"])

    async def revoke_invite(self, chat_id: int, code: str) -> None:
        await self.connection.call("DELETE", f"/api/chats/{chat_id}/invites/{quote(code, safe='')}")

    async def join(self, code: str) -> JSON:
        """{"chat": Chat} when joined at once, {"joinRequest": ...} when the owner decides."""
        body = await self.connection.call("POST", f"/api/chats/join/{quote(code, safe='')}")
        return cast(JSON, body)

    async def join_requests(self, chat_id: int) -> list[JSON]:
        body = await self.connection.call("GET", f"/api/chats/{chat_id}/join-requests")
        return cast(list[JSON], body["joinRequests"])

    async def decide(self, chat_id: int, request_id: int, decision: str) -> JSON:
        body = await self.connection.call(
            "POST", f"/api/chats/{chat_id}/join-requests/{request_id}/{decision}"
        )
        return cast(JSON, (body or {}).get("joinRequest", {}))

    async def messages(
        self,
        chat_id: int,
        *,
        limit: int | None = None,
        after_seq: int | None = None,
        before: int | None = None,
    ) -> list[Message]:
        params = {}
        if limit is not None:
            params["limit"] = str(limit)
        if after_seq is not None:
            params["afterSeq"] = str(after_seq)
        if before is not None:
            params["before"] = str(before)
        body = await self.connection.call("GET", f"/api/chats/{chat_id}/messages", params=params)
        return cast(list[Message], body["messages"])

    async def send(
        self,
        chat_id: int,
        body: str,
        *,
        attachment_id: str | int | None = None,
        reply_to: int | None = None,
        send_at: str | None = None,
    ) -> Message:
        message: JSON = {"body": body}
        if attachment_id is not None:
            message["attachmentId"] = attachment_id
        if reply_to is not None:
            message["replyTo"] = reply_to
        if send_at is not None:
            message["sendAt"] = send_at
        answer = await self.connection.call(
            "POST", f"/api/chats/{chat_id}/messages", json={"message": message}
        )
        return cast(Message, answer["message"])

    async def edit(self, chat_id: int, message_id: int, body: str) -> Message:
        answer = await self.connection.call(
            "PATCH",
            f"/api/chats/{chat_id}/messages/{message_id}",
            json={"message": {"body": body}},
        )
        return cast(Message, answer["message"])

    async def delete_message(self, chat_id: int, message_id: int, reason: str | None) -> None:
        params = {"reason": reason} if reason else None
        await self.connection.call(
            "DELETE", f"/api/chats/{chat_id}/messages/{message_id}", params=params
        )

    async def comments(self, chat_id: int, message_id: int, limit: int = 100) -> list[JSON]:
        body = await self.connection.call(
            "GET",
            f"/api/chats/{chat_id}/messages/{message_id}/comments",
            params={"limit": str(limit)},
        )
        return cast(list[JSON], body["comments"])

    async def comment(self, chat_id: int, message_id: int, text: str) -> JSON:
        body = await self.connection.call(
            "POST",
            f"/api/chats/{chat_id}/messages/{message_id}/comments",
            json={"comment": {"body": text}},
        )
        return cast(JSON, body["comment"])

    async def status(self) -> JSON:
        body = await self.connection.call("GET", "/api/chat/status")
        return cast(JSON, body["status"])

    async def scheduled(self, chat_id: int) -> list[Message]:
        body = await self.connection.call("GET", f"/api/chats/{chat_id}/messages/scheduled")
        return cast(list[Message], body["messages"])

    async def cancel_scheduled(self, chat_id: int, message_id: int) -> None:
        await self.connection.call(
            "DELETE", f"/api/chats/{chat_id}/messages/scheduled/{message_id}"
        )

    async def mark_read(self, chat_id: int, seq: int) -> JSON:
        body = await self.connection.call("POST", f"/api/chats/{chat_id}/read", json={"seq": seq})
        return cast(JSON, body["read"])

    async def unread(self) -> list[UnreadChat]:
        body = await self.connection.call("GET", "/api/chats/unread")
        return cast(list[UnreadChat], body["chats"])

    async def report(self, username: str, reason: str) -> JSON:
        body = await self.connection.call(
            "POST", f"/api/users/{username}/report", json={"reason": reason}
        )
        return cast(JSON, body["report"])

    async def me(self) -> JSON:
        body = await self.connection.call("GET", "/api/user")
        return cast(JSON, body["user"])

    # Notifications

    async def notifications(self, *, before: int | None, limit: int, types: str | None) -> JSON:
        params = {"limit": str(limit)}
        if before is not None:
            params["before"] = str(before)
        if types:
            params["types"] = types
        return cast(JSON, await self.connection.call("GET", "/api/notifications", params=params))

    async def notifications_read(self, body: JSON) -> int:
        answer = await self.connection.call("POST", "/api/notifications/read", json=body)
        return int(answer["unreadCount"])

    # Moderation

    async def reports(self, status: str | None, limit: int) -> JSON:
        params = {"limit": str(limit)}
        if status:
            params["status"] = status
        return cast(
            JSON, await self.connection.call("GET", "/api/moderation/reports", params=params)
        )

    async def resolve(self, report_id: int, action: str, note: str | None) -> JSON:
        body: JSON = {"action": action}
        if note:
            body["note"] = note
        answer = await self.connection.call(
            "POST", f"/api/moderation/reports/{report_id}/resolve", json=body
        )
        return cast(JSON, answer["report"])

    async def bans(self) -> list[JSON]:
        body = await self.connection.call("GET", "/api/moderation/bans")
        return cast(list[JSON], body["bans"])

    async def ban(self, username: str, seconds: int, reason: str) -> JSON:
        body = await self.connection.call(
            "POST",
            "/api/moderation/bans",
            json={"ban": {"username": username, "seconds": seconds, "reason": reason}},
        )
        return cast(JSON, body["ban"])

    async def unban(self, username: str) -> None:
        await self.connection.call("DELETE", f"/api/moderation/bans/{quote(username, safe='')}")

    # Files

    async def upload(self, path: Path) -> Attachment:
        return await files.upload(self.connection, path)

    async def download(self, attachment_id: str, output: Path | None, *, force: bool) -> Path:
        """Saves the file under its original name (in `output` if it is a folder)."""
        return await files.download(self.connection, attachment_id, output, force=force)
