"""One aiohttp session against one gateway, on behalf of the saved session: every call's
plumbing, whatever it asks for.

Every authenticated call goes through `Connection.response`, which renews the access token
with the refresh token once on a 401 and retries, and turns connection failures and error
bodies into the exceptions of `chat_client.errors`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

import aiohttp

from chat_client.errors import ApiError, ClientError, GatewayUnreachable, LoginRequired
from chat_client.models import JSON
from chat_client.state import Session, SessionStore

# The RealWorld form of the header; the gateway also accepts Bearer.
AUTH_SCHEME = "Token"
# A refresh answered with one of these means the refresh token is spent, revoked or expired:
# only a new login helps.
REFRESH_REFUSED = frozenset({400, 401, 403, 404, 422})
# aiohttp's own keepalive pings: a gateway that vanished without a close frame is noticed
# within this many seconds and `watch` reconnects.
WS_HEARTBEAT = 20.0

NOT_LOGGED_IN = "you are not logged in; run `chopchop-chat login EMAIL` or `register` first"
SESSION_OVER = "your session has ended; log in again with `chopchop-chat login EMAIL`"


class Connection:
    """The aiohttp session, the saved session's tokens and their renewal."""

    def __init__(self, gateway: str, store: SessionStore, *, timeout: float = 30.0) -> None:
        self.gateway = gateway.rstrip("/")
        self.store = store
        self.session: Session | None = store.load()
        self._timeout = aiohttp.ClientTimeout(total=None, connect=timeout, sock_read=timeout)
        self._http: aiohttp.ClientSession | None = None
        self._renewing = asyncio.Lock()

    async def __aenter__(self) -> Connection:
        self._http = aiohttp.ClientSession(timeout=self._timeout)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    @property
    def http(self) -> aiohttp.ClientSession:
        if self._http is None:
            raise RuntimeError("ChatApi (its Connection) is used outside `async with`")
        return self._http

    def url(self, path: str) -> str:
        return self.gateway + path

    def require_session(self) -> Session:
        if self.session is None:
            raise LoginRequired(NOT_LOGGED_IN)
        return self.session

    def start_session(self, user: JSON) -> Session:
        """Saves the session of a user just registered or logged in."""
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
                    await self.renew_session(session)
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
        async with self.response(
            method, path, params=params, auth=auth, renew=renew, body=lambda: kwargs
        ) as response:
            if response.status == 204 or response.content_length == 0:
                return None
            try:
                return await response.json(content_type=None)
            except ValueError as exc:
                raise ClientError(f"the gateway sent something that is not JSON ({exc})") from exc

    @contextlib.asynccontextmanager
    async def response(
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
                    await self.renew_session(session)
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

    async def renew_session(self, spent: Session) -> None:
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
