"""The compose deployment (docker-compose.yml, deploy/Dockerfile) started for real: scaled,
used through the published gateway, replicas killed and rolled under load, the database roles
kept apart, and nothing left behind.

`make test-compose` runs it (tests/compose/prepare.sh first brings the engine, Compose v2 and
the base images); the figures are printed as `COMPOSE <step>: ...`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import signal
import subprocess
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest

from tests.compose.conftest import report
from tests.compose.stack import PROJECT, ROLES, SCALE, Stack, run

pytestmark = [pytest.mark.compose, pytest.mark.timeout(1800)]

# No request may wait on a dead replica longer than this: in the seconds after a kill, no
# request is slower.
SLOWEST_ALLOWED = 0.3
KILL_WINDOW = 6.0
# An attempt on an address that answers nothing lasts the gateway's connect timeout (0.1 s).
DEAD_ATTEMPT = 0.1
_GATEWAY_TIMING = re.compile(r"gateway;dur=([0-9.]+)")
CLIENTS = 4
# Between two requests of one client: about 25 requests a second in all. Each client is a
# user of its own, so that each stays under the gateway's limit per user (1,200 a minute)
# however long a load runs (a rolling restart of three replicas takes most of a minute).
PAUSE = 0.12
PASSWORD = "correct-horse-battery-9"


async def until(check: Any, timeout: float, every: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not so after {timeout} s: {check.__name__}")
        await asyncio.sleep(every)


async def ready_replicas(session: aiohttp.ClientSession, base: str) -> dict[str, Any]:
    try:
        async with session.get(f"{base}/health/ready") as response:
            body = await response.json()
            return body if response.status == 200 else {}
    except (aiohttp.ClientError, ValueError):
        return {}


async def wait_for_replicas(stack: Stack, want: dict[str, int], timeout: float = 60) -> None:
    """Until the gateway has found `want` replicas per service (it re-resolves every 5 s)."""
    async with aiohttp.ClientSession() as session:

        async def found() -> bool:
            body = await ready_replicas(session, stack.base)
            replicas = body.get("replicas", {})
            return all(len(replicas.get(name, ())) >= n for name, n in want.items())

        await until(found, timeout)


@dataclass
class Load:
    """Authenticated lists of recipes from `CLIENTS` clients, each request timed."""

    statuses: Counter[str] = field(default_factory=Counter)
    # (sent, seconds, status), sent on the monotonic clock
    samples: list[tuple[float, float, str]] = field(default_factory=list)
    # sent -> the gateway's time outside the replica that answered (its Server-Timing): the
    # failed attempts on other replicas, and its own work
    outside: dict[float, float] = field(default_factory=dict)

    def summary(self) -> str:
        ordered = sorted(seconds for _, seconds, _ in self.samples)
        p50 = ordered[len(ordered) // 2] if ordered else 0.0
        p99 = ordered[int(len(ordered) * 0.99)] if ordered else 0.0
        return (
            f"{len(ordered)} requests, statuses {dict(self.statuses)}, p50 {p50 * 1000:.0f} ms, "
            f"p99 {p99 * 1000:.0f} ms, slowest {max(ordered, default=0) * 1000:.0f} ms"
        )

    def slowest_between(self, start: float, end: float) -> float:
        return max((s for sent, s, _ in self.samples if start <= sent <= end), default=0.0)

    def check(self) -> None:
        """No request failed."""
        assert set(self.statuses) == {"200"}, self.summary()

    def check_no_wait_on_the_dead(self, killed: float) -> str:
        """No request sent in the seconds after a replica died waited on it: the seconds in
        which its address may still be a replica for the gateway (until the engine's DNS,
        re-read every 5 s, stops naming it). Each request is under `SLOWEST_ALLOWED`, or
        else the gateway spent less than `DEAD_ATTEMPT` outside the replica that answered
        it: no attempt on a dead address made it slow, a live replica's answer did (on a
        busy machine, the restarted container's boot takes the cores for a while)."""
        window = (killed, killed + KILL_WINDOW)
        slowest = self.slowest_between(*window)
        in_window = [
            (sent, seconds, status)
            for sent, seconds, status in self.samples
            if window[0] <= sent <= window[1]
        ]
        outside = max((self.outside.get(sent, 0.0) for sent, _, _ in in_window), default=0.0)
        waited = [
            (round(sent - killed, 2), round(seconds, 3), round(self.outside.get(sent, -1), 3))
            for sent, seconds, _ in in_window
            if seconds >= SLOWEST_ALLOWED and self.outside.get(sent, 1.0) >= DEAD_ATTEMPT
        ]
        assert not waited, (
            f"requests sent after the kill waited (after the kill, seconds, outside the "
            f"answering replica): {waited}; {self.summary()}"
        )
        return (
            f"in the {KILL_WINDOW:.0f} s after the kill: slowest {slowest * 1000:.0f} ms, "
            f"longest in the gateway outside the answering replica {outside * 1000:.0f} ms"
        )


@contextlib.asynccontextmanager
async def load(stack: Stack) -> AsyncIterator[Load]:
    """Lists of recipes from `CLIENTS` clients, each a new user, until the block ends."""
    figures = Load()
    stop = asyncio.Event()
    async with aiohttp.ClientSession() as session:
        users = [await register(session, stack.base) for _ in range(CLIENTS)]

    async def client(session: aiohttp.ClientSession, user: dict[str, Any]) -> None:
        headers = {"Authorization": f"Token {user['token']}"}
        while not stop.is_set():
            sent = time.monotonic()
            try:
                async with session.get(f"{stack.base}/api/articles?limit=5", headers=headers) as r:
                    await r.read()
                    status = str(r.status)
                    timing = _GATEWAY_TIMING.search(r.headers.get("Server-Timing", ""))
                    if timing:
                        figures.outside[sent] = float(timing.group(1)) / 1000
            except (aiohttp.ClientError, TimeoutError) as exc:
                status = type(exc).__name__
            figures.statuses[status] += 1
            figures.samples.append((sent, time.monotonic() - sent, status))
            await asyncio.sleep(PAUSE)

    timeout = aiohttp.ClientTimeout(total=15)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        tasks = [asyncio.create_task(client(session, user)) for user in users]
        try:
            yield figures
        finally:
            stop.set()
            await asyncio.gather(*tasks)


def shell(*args: str, timeout: float = 600) -> str:
    return run(*args, timeout=timeout)


async def register(session: aiohttp.ClientSession, base: str) -> dict[str, Any]:
    name = f"cook{secrets.token_hex(4)}"
    payload = {"user": {"username": name, "email": f"{name}@example.test", "password": PASSWORD}}
    async with session.post(f"{base}/api/users", json=payload) as response:
        body = await response.json()
        assert response.status == 201, body
    return dict(body["user"])


@pytest.fixture(scope="module")
def account(stack: Stack) -> dict[str, Any]:
    async def make() -> dict[str, Any]:
        async with aiohttp.ClientSession() as session:
            return await register(session, stack.base)

    return asyncio.run(make())


async def test_every_replica_is_found_through_the_gateway(stack: Stack) -> None:
    await wait_for_replicas(stack, {"auth": 1, "posts": 3, "social": 1, "chat": 2})
    for service, replicas in SCALE.items():
        assert len(stack.containers(service)) == replicas


async def test_the_web_client_is_served_at_the_root(stack: Stack) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{stack.base}/") as response:
            page = await response.text()
            assert response.status == 200, page[:300]
            assert response.headers["Content-Type"].startswith("text/html")
            assert "default-src 'self'" in response.headers["Content-Security-Policy"]
        # The built page, not the gateway's "build the client" notice: its hashed bundle.
        scripts = re.findall(r'src="(/assets/[^"]+\.js)"', page)
        assert scripts, page[:500]
        async with session.get(
            f"{stack.base}{scripts[0]}", headers={"Accept-Encoding": "gzip"}
        ) as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/javascript")
            assert "immutable" in response.headers["Cache-Control"]
            assert len(await response.read()) > 1000
        # A route of the application is the same page; an API path is the API's JSON 404.
        async with session.get(f"{stack.base}/settings") as response:
            assert response.status == 200 and await response.text() == page
        async with session.get(f"{stack.base}/api/no-such-thing") as response:
            assert response.status == 404
            assert "errors" in await response.json()
    report("web client", f"/ serves the built client ({len(page)} bytes, {scripts[0]})")


async def test_sign_up_sends_a_confirmation_mail_that_confirms(stack: Stack) -> None:
    async with aiohttp.ClientSession() as session:
        user = await register(session, stack.base)
        assert user["emailConfirmed"] is False

        async def mail() -> dict[str, Any] | None:
            async with session.get(f"{stack.mail_api}/api/v1/messages?limit=1000") as response:
                listing = await response.json()
            for message in listing["messages"]:
                if message["To"][0]["Address"] == user["email"]:
                    return dict(message)
            return None

        message = await until(mail, timeout=30)
        async with session.get(f"{stack.mail_api}/api/v1/message/{message['ID']}") as response:
            text = (await response.json())["Text"]
        link = re.search(r"(\S+)/confirm-email\?token=(\S+)", text)
        assert link, text
        assert link.group(1) == stack.base  # PUBLIC_URL
        async with session.post(
            f"{stack.base}/api/auth/confirm", json={"token": link.group(2)}
        ) as response:
            assert response.status == 200, await response.text()
        async with session.get(
            f"{stack.base}/api/user", headers={"Authorization": f"Token {user['token']}"}
        ) as response:
            assert (await response.json())["user"]["emailConfirmed"] is True
    report("sign-up", f"confirmation mail '{message['Subject']}' caught, link confirmed")


async def test_a_recipe_then_lists_that_every_posts_replica_serves(
    stack: Stack, account: dict[str, Any]
) -> None:
    headers = {"Authorization": f"Token {account['token']}"}
    route = "/api/articles"
    before = {c: stack.requests_served(c, route) for c in stack.containers("posts_service")}
    async with aiohttp.ClientSession() as session:
        article = {
            "article": {
                "title": f"Compose soup {secrets.token_hex(3)}",
                "description": "Tried on three replicas",
                "body": "Boil water. Add things.",
                "tagList": ["compose"],
            }
        }
        async with session.post(f"{stack.base}/api/articles", json=article, headers=headers) as r:
            body = await r.json()
            assert r.status == 201, body
        slug = body["article"]["slug"]
        seen = 0
        for _ in range(90):
            async with session.get(f"{stack.base}/api/articles?limit=5", headers=headers) as r:
                assert r.status == 200
                seen += any(a["slug"] == slug for a in (await r.json())["articles"])
    assert seen == 90
    after = {c: stack.requests_served(c, route) for c in stack.containers("posts_service")}
    spread = {stack.name(c): after[c] - before.get(c, 0) for c in after}
    assert len(spread) == 3
    assert all(n > 0 for n in spread.values()), spread
    report("spread", f"90 lists of the new recipe, served per posts replica: {spread}")


async def test_websockets_on_every_chat_replica_all_receive_a_message(
    stack: Stack, account: dict[str, Any]
) -> None:
    route = "/api/chat/ws"
    before = {c: stack.requests_served(c, route) for c in stack.containers("chat_service")}
    async with aiohttp.ClientSession() as session:
        other = await register(session, stack.base)
        ws_base = stack.base.replace("http", "ws", 1)
        sockets = []
        for user in (account, other):
            for _ in range(4):
                ws = await session.ws_connect(f"{ws_base}/api/chat/ws?token={user['token']}")
                hello = await ws.receive_json(timeout=10)
                assert hello["type"] == "hello", hello
                sockets.append(ws)
        headers = {"Authorization": f"Token {account['token']}"}
        async with session.get(f"{stack.base}/api/chats", headers=headers) as r:
            chats = (await r.json())["chats"]
        general = next(c for c in chats if c["type"] == "general")
        text = f"hello across replicas {secrets.token_hex(3)}"
        async with session.post(
            f"{stack.base}/api/chats/{general['id']}/messages",
            json={"message": {"body": text}},
            headers=headers,
        ) as r:
            assert r.status == 201, await r.text()

        async def received(ws: aiohttp.ClientWebSocketResponse) -> bool:
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                try:
                    event = await ws.receive_json(timeout=deadline - time.monotonic())
                except (TimeoutError, TypeError, ValueError):
                    return False
                if event.get("type") == "message.created" and event["data"].get("body") == text:
                    return True
            return False

        results = await asyncio.gather(*(received(ws) for ws in sockets))
        for ws in sockets:
            await ws.close()
    after = {c: stack.requests_served(c, route) for c in stack.containers("chat_service")}
    spread = {stack.name(c): after[c] - before.get(c, 0) for c in after}
    assert sum(results) == len(sockets) == 8, results
    assert all(n > 0 for n in spread.values()), spread
    report("websockets", f"8 of 8 received the message; sockets per chat replica: {spread}")


def host_pid(stack: Stack, container: str) -> int:
    return int(stack.inspect(container)["State"]["Pid"])


async def restarted_and_healthy(stack: Stack, container: str, restarts: int) -> bool:
    details = await asyncio.to_thread(stack.inspect, container)
    state = details["State"]
    return bool(
        details["RestartCount"] > restarts
        and state["Running"]
        and state.get("Health", {}).get("Status") == "healthy"
    )


async def test_a_replica_whose_process_dies_is_restarted_without_a_failed_request(
    stack: Stack,
) -> None:
    victim = stack.containers("posts_service")[0]
    restarts = stack.inspect(victim)["RestartCount"]
    async with load(stack) as figures:
        await asyncio.sleep(3)
        killed = time.monotonic()
        # The container's own process, from the host: the engine sees it exit (137) and the
        # restart policy starts it again, as after a crash.
        os.kill(host_pid(stack, victim), signal.SIGKILL)
        await until(lambda: restarted_and_healthy(stack, victim, restarts), timeout=120)
        back = time.monotonic() - killed
        await asyncio.sleep(2)
    assert stack.inspect(victim)["RestartCount"] == restarts + 1
    figures.check()
    window = figures.check_no_wait_on_the_dead(killed)
    report(
        "process killed",
        f"restarted and healthy after {back:.1f} s; {figures.summary()}; {window}",
    )


async def test_docker_kill_then_up_again_without_a_failed_request(stack: Stack) -> None:
    victim = stack.containers("posts_service")[-1]
    name = stack.name(victim)
    async with load(stack) as figures:
        await asyncio.sleep(3)
        killed = time.monotonic()
        await asyncio.to_thread(shell, "docker", "kill", victim)
        await asyncio.sleep(KILL_WINDOW)  # longer than the gateway's re-resolution
        assert victim not in stack.containers("posts_service")
        took = await asyncio.to_thread(stack.up, "--no-recreate")
        await asyncio.sleep(2)
    assert len(stack.containers("posts_service")) == 3
    figures.check()
    window = figures.check_no_wait_on_the_dead(killed)
    report("docker kill", f"{name} killed, up again in {took:.1f} s; {figures.summary()}; {window}")
    await wait_for_replicas(stack, {"posts": 3})


async def test_a_rolling_restart_of_a_service_without_a_failed_request(stack: Stack) -> None:
    """One replica at a time: a new one started beside the others (`up --no-recreate` with one
    more), healthy, then an old one stopped (gracefully) and removed. Compose's own `up
    --force-recreate` of a scaled service stops every replica before it starts any new one,
    which no caller can ride out (see the README's "Deploying")."""
    old = stack.containers("posts_service")
    replicas = len(old)
    async with load(stack) as figures:
        await asyncio.sleep(3)
        started = time.monotonic()
        for container in old:
            await asyncio.to_thread(
                stack.compose,
                "up",
                "--detach",
                "--wait",
                "--no-deps",
                "--no-recreate",
                "--scale",
                f"posts_service={replicas + 1}",
                "posts_service",
            )
            await wait_for_replicas(stack, {"posts": replicas + 1})
            await asyncio.to_thread(shell, "docker", "stop", "--time", "30", container)
            await asyncio.to_thread(shell, "docker", "rm", container)
        took = time.monotonic() - started
        await asyncio.sleep(2)
    new = stack.containers("posts_service")
    assert len(new) == replicas and not set(new) & set(old)
    report(
        "rolling restart",
        f"{replicas} posts replicas replaced one by one in {took:.1f} s; {figures.summary()}",
    )
    figures.check()


def psql(stack: Stack, role: str, password: str, sql: str) -> subprocess.CompletedProcess[str]:
    """`sql` as `role`, over TCP with its password, by psql in the PostgreSQL container."""
    postgres = stack.containers("postgres")[0]
    return subprocess.run(
        [
            "docker",
            "exec",
            "--env",
            f"PGPASSWORD={password}",
            postgres,
            "psql",
            "--no-psqlrc",
            "--tuples-only",
            "--no-align",
            "-v",
            "ON_ERROR_STOP=1",
            "--host",
            "127.0.0.1",
            "--username",
            role,
            "--dbname",
            "chopchop",
            "--command",
            sql,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_each_service_role_reads_only_its_own_schema(stack: Stack) -> None:
    owner = stack.passwords["POSTGRES"]
    tables = {}
    for schema in ROLES.values():
        found = psql(
            stack,
            "postgres",
            owner,
            "SELECT table_name FROM information_schema.tables "
            f"WHERE table_schema = '{schema}' AND table_name <> 'schema_migrations' "
            "ORDER BY table_name LIMIT 1",
        )
        assert found.returncode == 0 and found.stdout.strip(), found.stderr
        tables[schema] = found.stdout.strip()
    checked = 0
    for role, own in ROLES.items():
        password = stack.passwords[f"{own.upper()}_DB"]
        mine = psql(stack, role, password, f"SELECT count(*) FROM {own}.{tables[own]}")
        assert mine.returncode == 0, (role, mine.stderr)
        for schema, table in tables.items():
            if schema == own:
                continue
            theirs = psql(stack, role, password, f"SELECT count(*) FROM {schema}.{table}")
            assert theirs.returncode != 0, (role, schema)
            assert f"permission denied for schema {schema}" in theirs.stderr, theirs.stderr
            checked += 1
        created = psql(stack, role, password, "CREATE TABLE public.intruder (id int)")
        assert created.returncode != 0 and "permission denied" in created.stderr
    report("roles", f"{checked} reads of another service's schema refused, each role reads its own")


def test_down_leaves_no_container_network_or_volume(stack: Stack) -> None:
    assert any(stack.leftovers().values())
    logs = stack.save_logs()
    started = time.monotonic()
    stack.compose("down", "--volumes", "--remove-orphans", "--timeout", "20")
    took = time.monotonic() - started
    left = stack.leftovers()
    assert left == {"containers": [], "networks": [], "volumes": []}, left
    report("down", f"down -v in {took:.1f} s; nothing of {PROJECT} is left (logs: {logs})")
