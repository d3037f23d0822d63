"""The public API through the gateway, over aiohttp: REST calls, files, the websocket.

Every authenticated call goes through `_response`, which renews the access token with the
refresh token once on a 401 and retries, and turns connection failures and error bodies
into the exceptions of `chat_client.errors`.
"""

from __future__ import annotations

import asyncio
import contextlib
import mimetypes
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import aiohttp

from chat_client.errors import ApiError, ClientError, GatewayUnreachable, LoginRequired
from chat_client.models import JSON, Attachment, Chat, Message, UnreadChat
from chat_client.state import Session, SessionStore

# The RealWorld form of the header; the gateway also accepts Bearer.
AUTH_SCHEME = "Token"
# A refresh answered with one of these means the refresh token is spent, revoked or expired:
# only a new login helps.
REFRESH_REFUSED = frozenset({400, 401, 403, 404, 422})
DOWNLOAD_CHUNK = 64 * 1024
# aiohttp's own keepalive pings: a gateway that vanished without a close frame is noticed
# within this many seconds and `watch` reconnects.
WS_HEARTBEAT = 20.0

NOT_LOGGED_IN = "you are not logged in; run `chopchop-chat login EMAIL` or `register` first"
SESSION_OVER = "your session has ended; log in again with `chopchop-chat login EMAIL`"


class ChatApi:
    """One aiohttp session against one gateway, on behalf of the saved session (if any)."""

    def __init__(self, gateway: str, store: SessionStore, *, timeout: float = 30.0) -> None:
        self.gateway = gateway.rstrip("/")
        self.store = store
        self.session: Session | None = store.load()
        self._timeout = aiohttp.ClientTimeout(total=None, connect=timeout, sock_read=timeout)
        self._http: aiohttp.ClientSession | None = None
        self._renewing = asyncio.Lock()

    async def __aenter__(self) -> ChatApi:
        self._http = aiohttp.ClientSession(timeout=self._timeout)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    @property
    def http(self) -> aiohttp.ClientSession:
        if self._http is None:
            raise RuntimeError("ChatApi is used outside `async with`")
        return self._http

    def url(self, path: str) -> str:
        return self.gateway + path

    def require_session(self) -> Session:
        if self.session is None:
            raise LoginRequired(NOT_LOGGED_IN)
        return self.session

    # Users and authentication

    async def register(self, username: str, email: str, password: str) -> Session:
        body = await self.call(
            "POST",
            "/api/users",
            json={"user": {"username": username, "email": email, "password": password}},
            auth=False,
        )
        return self._start_session(body["user"])

    async def login(self, email: str, password: str) -> Session:
        body = await self.call(
            "POST",
            "/api/users/login",
            json={"user": {"email": email, "password": password}},
            auth=False,
        )
        return self._start_session(body["user"])

    async def logout(self) -> None:
        """Revokes the tokens at the gateway; an already dead token counts as logged out."""
        # Not renewed first: renewing only to revoke at once would be a wasted rotation.
        with contextlib.suppress(LoginRequired):
            await self.call("POST", "/api/auth/logout", renew=False)

    def _start_session(self, user: JSON) -> Session:
        session = Session(
            username=str(user["username"]),
            token=str(user["token"]),
            refresh_token=user.get("refreshToken"),
        )
        with self.store.locked():
            previous = self.store.load_quietly()
            # The same person logging in again keeps what they have already seen.
            if previous is not None and previous.username == session.username:
                session.last_seen = previous.last_seen
            self.store.save(session)
        self.session = session
        return session

    # Chats and messages

    async def list_chats(self) -> list[Chat]:
        body = await self.call("GET", "/api/chats")
        return cast(list[Chat], body["chats"])

    async def open_direct(self, username: str) -> Chat:
        body = await self.call(
            "POST", "/api/chats", json={"chat": {"type": "direct", "username": username}}
        )
        return cast(Chat, body["chat"])

    async def chat(self, chat_id: int) -> Chat:
        """One chat with its members (`members`: username, image, online, role)."""
        body = await self.call("GET", f"/api/chats/{chat_id}")
        return cast(Chat, body["chat"])

    async def create_group(self, title: str, description: str | None, private: bool) -> Chat:
        chat: JSON = {"type": "group", "title": title, "private": private}
        if description is not None:
            chat["description"] = description
        body = await self.call("POST", "/api/chats", json={"chat": chat})
        return cast(Chat, body["chat"])

    async def update_chat(self, chat_id: int, changes: JSON) -> Chat:
        body = await self.call("PATCH", f"/api/chats/{chat_id}", json={"chat": changes})
        return cast(Chat, body["chat"])

    async def delete_chat(self, chat_id: int) -> None:
        await self.call("DELETE", f"/api/chats/{chat_id}")

    async def add_member(self, chat_id: int, username: str) -> JSON:
        body = await self.call("POST", f"/api/chats/{chat_id}/members", json={"username": username})
        return cast(JSON, body.get("member", {}) if isinstance(body, dict) else {})

    async def remove_member(self, chat_id: int, username: str) -> None:
        await self.call("DELETE", f"/api/chats/{chat_id}/members/{quote(username, safe='')}")

    async def create_invite(self, chat_id: int, expires_in: int | None) -> JSON:
        invite: JSON = {} if expires_in is None else {"expiresInSeconds": expires_in}
        body = await self.call("POST", f"/api/chats/{chat_id}/invites", json={"invite": invite})
        return cast(JSON, body["invite"])

    async def invites(self, chat_id: int) -> list[JSON]:
        body = await self.call("GET", f"/api/chats/{chat_id}/invites")
        return cast(list[JSON], body["invites"])

    async def revoke_invite(self, chat_id: int, code: str) -> None:
        await self.call("DELETE", f"/api/chats/{chat_id}/invites/{quote(code, safe='')}")

    async def join(self, code: str) -> JSON:
        """{"chat": Chat} when joined at once, {"joinRequest": ...} when the owner decides."""
        body = await self.call("POST", f"/api/chats/join/{quote(code, safe='')}")
        return cast(JSON, body)

    async def join_requests(self, chat_id: int) -> list[JSON]:
        body = await self.call("GET", f"/api/chats/{chat_id}/join-requests")
        return cast(list[JSON], body["joinRequests"])

    async def decide(self, chat_id: int, request_id: int, decision: str) -> JSON:
        body = await self.call(
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
        body = await self.call("GET", f"/api/chats/{chat_id}/messages", params=params)
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
        answer = await self.call(
            "POST", f"/api/chats/{chat_id}/messages", json={"message": message}
        )
        return cast(Message, answer["message"])

    async def edit(self, chat_id: int, message_id: int, body: str) -> Message:
        answer = await self.call(
            "PATCH",
            f"/api/chats/{chat_id}/messages/{message_id}",
            json={"message": {"body": body}},
        )
        return cast(Message, answer["message"])

    async def delete_message(self, chat_id: int, message_id: int, reason: str | None) -> None:
        params = {"reason": reason} if reason else None
        await self.call("DELETE", f"/api/chats/{chat_id}/messages/{message_id}", params=params)

    async def comments(self, chat_id: int, message_id: int, limit: int = 100) -> list[JSON]:
        body = await self.call(
            "GET",
            f"/api/chats/{chat_id}/messages/{message_id}/comments",
            params={"limit": str(limit)},
        )
        return cast(list[JSON], body["comments"])

    async def comment(self, chat_id: int, message_id: int, text: str) -> JSON:
        body = await self.call(
            "POST",
            f"/api/chats/{chat_id}/messages/{message_id}/comments",
            json={"comment": {"body": text}},
        )
        return cast(JSON, body["comment"])

    async def status(self) -> JSON:
        body = await self.call("GET", "/api/chat/status")
        return cast(JSON, body["status"])

    async def scheduled(self, chat_id: int) -> list[Message]:
        body = await self.call("GET", f"/api/chats/{chat_id}/messages/scheduled")
        return cast(list[Message], body["messages"])

    async def cancel_scheduled(self, chat_id: int, message_id: int) -> None:
        await self.call("DELETE", f"/api/chats/{chat_id}/messages/scheduled/{message_id}")

    async def mark_read(self, chat_id: int, seq: int) -> JSON:
        body = await self.call("POST", f"/api/chats/{chat_id}/read", json={"seq": seq})
        return cast(JSON, body["read"])

    async def unread(self) -> list[UnreadChat]:
        body = await self.call("GET", "/api/chats/unread")
        return cast(list[UnreadChat], body["chats"])

    async def report(self, username: str, reason: str) -> JSON:
        body = await self.call("POST", f"/api/users/{username}/report", json={"reason": reason})
        return cast(JSON, body["report"])

    async def me(self) -> JSON:
        body = await self.call("GET", "/api/user")
        return cast(JSON, body["user"])

    # Notifications

    async def notifications(self, *, before: int | None, limit: int, types: str | None) -> JSON:
        params = {"limit": str(limit)}
        if before is not None:
            params["before"] = str(before)
        if types:
            params["types"] = types
        return cast(JSON, await self.call("GET", "/api/notifications", params=params))

    async def notifications_read(self, body: JSON) -> int:
        answer = await self.call("POST", "/api/notifications/read", json=body)
        return int(answer["unreadCount"])

    # Moderation

    async def reports(self, status: str | None, limit: int) -> JSON:
        params = {"limit": str(limit)}
        if status:
            params["status"] = status
        return cast(JSON, await self.call("GET", "/api/moderation/reports", params=params))

    async def resolve(self, report_id: int, action: str, note: str | None) -> JSON:
        body: JSON = {"action": action}
        if note:
            body["note"] = note
        answer = await self.call("POST", f"/api/moderation/reports/{report_id}/resolve", json=body)
        return cast(JSON, answer["report"])

    async def bans(self) -> list[JSON]:
        body = await self.call("GET", "/api/moderation/bans")
        return cast(list[JSON], body["bans"])

    async def ban(self, username: str, seconds: int, reason: str) -> JSON:
        body = await self.call(
            "POST",
            "/api/moderation/bans",
            json={"ban": {"username": username, "seconds": seconds, "reason": reason}},
        )
        return cast(JSON, body["ban"])

    async def unban(self, username: str) -> None:
        await self.call("DELETE", f"/api/moderation/bans/{quote(username, safe='')}")

    # Files

    async def upload(self, path: Path) -> Attachment:
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        with path.open("rb") as file:

            def form() -> dict[str, Any]:
                # A retry after a token renewal sends the file again from its start;
                # aiohttp streams it from the file in an executor, never all in memory.
                file.seek(0)
                data = aiohttp.FormData()
                data.add_field("file", file, filename=path.name, content_type=content_type)
                return {"data": data}

            async with self._response("POST", "/api/chat/attachments", body=form) as response:
                answer = await response.json()
        return cast(Attachment, answer["attachment"])

    async def download(self, attachment_id: str, output: Path | None, *, force: bool) -> Path:
        """Saves the file under its original name (in `output` if it is a folder). The
        target is checked before the file is asked for: a refusal costs no transfer."""
        path = f"/api/chat/attachments/{quote(attachment_id, safe='')}"
        target: Path | None = None
        folder = output is None or await asyncio.to_thread(output.is_dir)
        if not folder:
            target = await asyncio.to_thread(download_target, output, "", force=force)
        else:
            # Only the server knows the file's name: HEAD asks for it without the body.
            # A refusal is left to the GET, whose answer carries the server's sentence.
            with contextlib.suppress(ApiError):
                async with self._response("HEAD", path) as response:
                    name = self._filename(response, attachment_id)
                target = await asyncio.to_thread(download_target, output, name, force=force)
        async with self._response("GET", path) as response:
            if target is None or (
                folder and target.name != self._filename(response, attachment_id)
            ):
                name = self._filename(response, attachment_id)
                target = await asyncio.to_thread(download_target, output, name, force=force)
            # The file appears under its name only once it is complete.
            partial = target.with_name(f".{target.name}.{os.getpid()}.part")
            try:
                with partial.open("wb") as file:
                    async for chunk in response.content.iter_chunked(DOWNLOAD_CHUNK):
                        await asyncio.to_thread(file.write, chunk)
                await asyncio.to_thread(partial.replace, target)
            except aiohttp.ClientPayloadError as exc:
                raise ClientError(f"the download was cut off ({exc})") from exc
            finally:
                await asyncio.to_thread(partial.unlink, missing_ok=True)
        return target

    @staticmethod
    def _filename(response: aiohttp.ClientResponse, attachment_id: str) -> str:
        disposition = response.content_disposition
        return safe_filename(disposition.filename if disposition else None, attachment_id)

    # Websocket

    @contextlib.asynccontextmanager
    async def websocket(self) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
        """The live connection; the token travels in the query, as the contract says."""
        for attempt in range(2):
            session = self.require_session()
            try:
                ws = await self.http.ws_connect(
                    self.url("/api/chat/ws"),
                    params={"token": session.token},
                    heartbeat=WS_HEARTBEAT,
                )
            except aiohttp.WSServerHandshakeError as exc:
                if exc.status == 401 and attempt == 0:
                    await self._renew(session)
                    continue
                if exc.status == 401:
                    raise LoginRequired(SESSION_OVER) from exc
                raise ApiError(
                    exc.status, [f"the gateway refused the live connection ({exc.status})"]
                ) from exc
            except (aiohttp.ClientConnectionError, TimeoutError) as exc:
                raise GatewayUnreachable(self.gateway, describe(exc)) from exc
            try:
                yield ws
            finally:
                await ws.close()
            return

    # Plumbing

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        auth: bool = True,
        renew: bool = True,
    ) -> Any:
        """One JSON call: the decoded body, or None for an empty answer (204)."""
        kwargs: dict[str, Any] = {"json": json} if json is not None else {}
        async with self._response(
            method, path, params=params, auth=auth, renew=renew, body=lambda: kwargs
        ) as response:
            if response.status == 204 or response.content_length == 0:
                return None
            try:
                return await response.json(content_type=None)
            except ValueError as exc:
                raise ClientError(f"the gateway sent something that is not JSON ({exc})") from exc

    @contextlib.asynccontextmanager
    async def _response(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        auth: bool = True,
        renew: bool = True,
        body: Callable[[], dict[str, Any]] = dict,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """A successful response; errors raised as ours. `body` builds the payload anew for a
        retry, since a multipart form can be sent only once."""
        for attempt in range(2):
            session = self.require_session() if auth else None
            headers = {"Authorization": f"{AUTH_SCHEME} {session.token}"} if session else {}
            try:
                response = await self.http.request(
                    method, self.url(path), params=params, headers=headers, **body()
                )
            except (aiohttp.ClientConnectionError, TimeoutError) as exc:
                raise GatewayUnreachable(self.gateway, describe(exc)) from exc
            try:
                if response.status == 401 and session is not None and renew and attempt == 0:
                    await self._renew(session)
                    continue
                if response.status == 401 and session is not None:
                    raise LoginRequired(SESSION_OVER)
                if response.status >= 400:
                    raise await api_error(response)
                try:
                    yield response
                except (aiohttp.ClientConnectionError, TimeoutError) as exc:
                    raise GatewayUnreachable(self.gateway, describe(exc)) from exc
                return
            finally:
                response.release()

    async def _renew(self, spent: Session) -> None:
        """Trades the refresh token for new tokens, once for every process of this home."""
        # The asyncio lock keeps this process's own tasks from blocking on the file lock
        # that one of them already holds.
        async with self._renewing:
            with self.store.locked():
                current = self.store.load_quietly()
                if current is None:
                    raise LoginRequired(NOT_LOGGED_IN)
                if current.token != spent.token:
                    # Someone renewed (or logged in) since `spent` was read: presenting the
                    # old refresh token again would count as reuse and revoke the family.
                    self.session = current
                    return
                if current.refresh_token is None:
                    raise LoginRequired(SESSION_OVER)
                user = await self._refresh(current.refresh_token)
                current.token = str(user["token"])
                current.refresh_token = user.get("refreshToken") or current.refresh_token
                self.store.save(current)
                self.session = current

    async def _refresh(self, refresh_token: str) -> JSON:
        try:
            async with self.http.post(
                self.url("/api/auth/refresh"), json={"refreshToken": refresh_token}
            ) as response:
                if response.status in REFRESH_REFUSED:
                    raise LoginRequired(SESSION_OVER)
                if response.status >= 400:
                    raise await api_error(response)
                body = await response.json(content_type=None)
        except (aiohttp.ClientConnectionError, TimeoutError) as exc:
            raise GatewayUnreachable(self.gateway, describe(exc)) from exc
        return cast(JSON, body["user"])


async def api_error(response: aiohttp.ClientResponse) -> ApiError:
    """The `errors.body` sentences of an error answer, or its status line without them."""
    messages: list[str] = []
    try:
        data = await response.json(content_type=None)
    except (ValueError, aiohttp.ClientError):
        data = None
    errors = data.get("errors") if isinstance(data, dict) else None
    if isinstance(errors, dict) and isinstance(errors.get("body"), list):
        messages = [str(sentence) for sentence in errors["body"]]
    if not messages:
        messages = [f"the gateway answered {response.status} {response.reason or ''}".strip()]
    return ApiError(response.status, messages, response.headers.get("Retry-After"))


def safe_filename(name: str | None, attachment_id: str) -> str:
    """The sender chose the name: keep only its last part, so it cannot climb out of the
    download folder or hide as `..`."""
    name = Path((name or "").replace("\\", "/")).name.strip()
    name = "".join(ch for ch in name if ch.isprintable())
    if name in ("", ".", ".."):
        return f"attachment-{attachment_id}"
    return name


def download_target(output: Path | None, name: str, *, force: bool) -> Path:
    """`output` itself, or `name` inside it when it is a folder (the current one if None);
    refused when it exists and `force` was not given."""
    target = output if output is not None and not output.is_dir() else (output or Path()) / name
    if target.exists() and not force:
        raise ClientError(f"{target} already exists; pass --force to replace it")
    return target


def describe(exc: BaseException) -> str:
    """Why a connection failed, in a few words."""
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"cannot resolve {exc.host}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        if isinstance(exc.os_error, ConnectionRefusedError):
            return "connection refused"
        return (exc.os_error.strerror or str(exc.os_error)).lower()
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the gateway closed the connection"
    return str(exc) or type(exc).__name__
