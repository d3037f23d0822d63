"""A mixed load through the gateway, by clients that retry the way a real client does.

Reads are retried; writes that are safe to repeat (favorite, follow) are retried as they
are; new articles and chat messages carry an `Idempotency-Key` and are retried with it.
Every request has a deadline (ATTEMPT_TIMEOUT); a logical operation keeps trying for
OPERATION_BUDGET. The ledger remembers every write that was answered 2xx so that the checks
can find each of them in the tables exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

ATTEMPT_TIMEOUT = 10.0
OPERATION_BUDGET = 40.0
WORKERS = 6
PASSWORD = "drill-password-1"


@dataclass
class User:
    name: str
    token: str
    id: int


@dataclass
class Ledger:
    """What the clients were told happened."""

    articles: dict[str, str] = field(default_factory=dict)  # title -> slug, answered 2xx
    unsure_articles: set[str] = field(default_factory=set)  # titles whose outcome is unknown
    messages: set[str] = field(default_factory=set)  # bodies answered 2xx
    unsure_messages: set[str] = field(default_factory=set)
    favorites: set[tuple[int, str]] = field(default_factory=set)  # (user id, slug)
    follows: set[tuple[int, str]] = field(default_factory=set)  # (follower id, followee name)
    registered: set[str] = field(default_factory=set)


@dataclass
class Figures:
    requests: int = 0
    operations: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)  # status or error, per request
    max_latency: float = 0.0
    failed: list[str] = field(default_factory=list)  # operations that never succeeded
    error_times: list[float] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def record(self, outcome: str, latency: float) -> None:
        self.requests += 1
        self.outcomes[outcome] += 1
        self.max_latency = max(self.max_latency, latency)
        if not outcome.startswith("2"):
            self.error_times.append(time.monotonic())

    @property
    def errors(self) -> dict[str, int]:
        return {k: v for k, v in sorted(self.outcomes.items()) if not k.startswith("2")}

    @property
    def timeouts(self) -> int:
        return self.outcomes["timeout"]

    def recovered_after(self, restored_at: float) -> float:
        """Seconds from the fault's repair to the last failed request (0 if none after it)."""
        late = [t - restored_at for t in self.error_times if t >= restored_at]
        return round(max(late, default=0.0), 2)

    def summary(self, restored_at: float | None = None) -> str:
        parts = [
            f"requests={self.requests}",
            f"operations={self.operations}",
            f"errors={self.errors or 0}",
            f"failed_operations={len(self.failed)}",
            f"max_latency={self.max_latency:.2f}s",
        ]
        if restored_at is not None:
            parts.append(f"recovered_after={self.recovered_after(restored_at)}s")
        return " ".join(parts)


Answer = tuple[int, Any]


class Load:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        users: list[User],
        general_chat: int,
        ledger: Ledger,
        seed: int,
        register: bool = True,
    ) -> None:
        self.session = session
        self.users = users
        self.general = general_chat
        self.ledger = ledger
        self.random = random.Random(seed)
        self.register = register
        self.figures = Figures()
        self.run = uuid.uuid4().hex[:8]
        self._counter = 0
        self._stopping = asyncio.Event()

    # One request, and one operation with its retries

    async def request(
        self,
        method: str,
        path: str,
        user: User | None = None,
        body: Any = None,
        key: str | None = None,
    ) -> tuple[str, Any]:
        headers = {}
        if user is not None:
            headers["Authorization"] = f"Token {user.token}"
        if key is not None:
            headers["Idempotency-Key"] = key
        started = time.monotonic()
        try:
            async with self.session.request(
                method,
                path,
                json=body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=ATTEMPT_TIMEOUT),
            ) as response:
                text = await response.text()
                outcome = str(response.status)
                payload: Any = text
                if response.content_type == "application/json" and text:
                    payload = await response.json()
        except TimeoutError:
            outcome, payload = "timeout", None
        except aiohttp.ClientError as exc:
            outcome, payload = "connection", repr(exc)
        self.figures.record(outcome, time.monotonic() - started)
        return outcome, payload

    async def operation(
        self,
        name: str,
        attempt: Callable[[], Awaitable[tuple[str, Any]]],
        accept: Callable[[str, Any, int], Awaitable[bool]] | None = None,
    ) -> tuple[str, Any]:
        """Tries until a 2xx (or `accept` says the outcome is settled) or the budget is spent."""
        self.figures.operations += 1
        deadline = time.monotonic() + OPERATION_BUDGET
        delay = 0.2
        tries = 0
        while True:
            outcome, payload = await attempt()
            tries += 1
            if outcome.startswith("2"):
                return outcome, payload
            if accept is not None and await accept(outcome, payload, tries):
                return "2xx-settled", payload
            retryable = outcome in ("timeout", "connection", "409", "429") or outcome[0] == "5"
            if not retryable or time.monotonic() + delay > deadline:
                self.figures.failed.append(f"{name}: {outcome} {str(payload)[:200]}")
                return outcome, payload
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    # The operations

    def _next(self) -> str:
        self._counter += 1
        return f"{self.run}-{self._counter}"

    async def create_article(self) -> None:
        user = self.random.choice(self.users)
        n = self._next()
        title = f"drill article {n}"
        key = f"article-{n}"
        body = {
            "article": {
                "title": title,
                "description": "under load",
                "body": "a recipe written while something broke",
                "tagList": ["drill", f"drill{self._counter % 4}"],
            }
        }
        self.ledger.unsure_articles.add(title)
        outcome, payload = await self.operation(
            "create article",
            lambda: self.request("POST", "/api/articles", user, body, key),
        )
        if outcome.startswith("2"):
            self.ledger.articles[title] = payload["article"]["slug"]
            self.ledger.unsure_articles.discard(title)

    async def favorite(self) -> None:
        if not self.ledger.articles:
            return
        user = self.random.choice(self.users)
        slug = self.random.choice(sorted(self.ledger.articles.values()))
        outcome, _ = await self.operation(
            "favorite",
            lambda: self.request("POST", f"/api/articles/{slug}/favorite", user),
        )
        if outcome.startswith("2"):
            self.ledger.favorites.add((user.id, slug))

    async def follow(self) -> None:
        follower, followee = self.random.sample(self.users, 2)
        outcome, _ = await self.operation(
            "follow",
            lambda: self.request("POST", f"/api/profiles/{followee.name}/follow", follower),
        )
        if outcome.startswith("2"):
            self.ledger.follows.add((follower.id, followee.name))

    async def send_message(self) -> None:
        user = self.random.choice(self.users)
        n = self._next()
        text = f"drill message {n}"
        self.ledger.unsure_messages.add(text)
        outcome, _ = await self.operation(
            "send message",
            lambda: self.request(
                "POST",
                f"/api/chats/{self.general}/messages",
                user,
                {"message": {"body": text}},
                f"message-{n}",
            ),
        )
        if outcome.startswith("2"):
            self.ledger.messages.add(text)
            self.ledger.unsure_messages.discard(text)

    async def read(self) -> None:
        user = self.random.choice(self.users)
        path = self.random.choice(
            [
                "/api/articles?limit=10",
                "/api/articles?tag=drill&limit=10",
                f"/api/profiles/{self.random.choice(self.users).name}",
                f"/api/chats/{self.general}/messages?limit=10",
                "/api/tags",
                "/api/user",
            ]
        )
        if self.ledger.articles and self.random.random() < 0.3:
            path = f"/api/articles/{self.random.choice(sorted(self.ledger.articles.values()))}"
        await self.operation(f"GET {path}", lambda: self.request("GET", path, user))

    async def register_user(self) -> None:
        name = f"d{self._next().replace('-', '')}"
        body = {"user": {"username": name, "email": f"{name}@example.com", "password": PASSWORD}}

        async def settled(outcome: str, payload: Any, tries: int) -> bool:
            # Not idempotent: after an answer that was lost, "taken" means the first try won,
            # which a real client finds out by logging in.
            if outcome != "422" or tries == 1:
                return False
            login = {"user": {"email": f"{name}@example.com", "password": PASSWORD}}
            status, _ = await self.request("POST", "/api/users/login", None, login)
            return status == "200"

        outcome, _ = await self.operation(
            "register", lambda: self.request("POST", "/api/users", None, body), settled
        )
        if outcome.startswith("2"):
            self.ledger.registered.add(name)

    async def _worker(self) -> None:
        choices: list[Callable[[], Awaitable[None]]] = [
            self.create_article,
            self.create_article,
            self.favorite,
            self.favorite,
            self.follow,
            self.send_message,
            self.send_message,
            self.read,
            self.read,
            self.read,
            self.read,
        ]
        if self.register:
            choices.append(self.register_user)
        while not self._stopping.is_set():
            await self.random.choice(choices)()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Figures]:
        """Load while the body runs; on leaving, lets every operation in progress finish."""
        workers = [asyncio.create_task(self._worker()) for _ in range(WORKERS)]
        try:
            yield self.figures
        finally:
            self._stopping.set()
            await asyncio.gather(*workers)
