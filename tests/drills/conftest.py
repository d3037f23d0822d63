"""The drills' own stack, shared by every drill of a run, and the users who load it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from tests.drills.load import PASSWORD, User
from tests.drills.stack import DrillStack, start_drill_stack

POPULATION = 8


@dataclass
class Population:
    users: list[User]
    general_chat: int


@pytest.fixture(autouse=True)
async def clean_state() -> AsyncIterator[None]:
    """The drills keep their state from one to the next and never touch the suite's servers."""
    yield


@pytest.fixture(scope="session")
def drill(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DrillStack]:
    started = asyncio.run(start_drill_stack(Path(tmp_path_factory.mktemp("drills"))))
    try:
        yield started
    finally:
        started.close()


async def _populate(gateway: str) -> Population:
    users = []
    async with aiohttp.ClientSession(base_url=gateway) as session:
        for index in range(POPULATION):
            name = f"cook{index}"
            body = {
                "user": {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
            }
            async with session.post("/api/users", json=body) as response:
                assert response.status == 201, await response.text()
                token = (await response.json())["user"]["token"]
            async with session.get(
                "/api/chats", headers={"Authorization": f"Token {token}"}
            ) as response:
                assert response.status == 200, await response.text()
                chats = (await response.json())["chats"]
            general = next(int(c["id"]) for c in chats if c["type"] == "general")
            users.append(User(name, token, 0))
    return Population(users, general)


@pytest.fixture(scope="session")
def population(drill: DrillStack) -> Population:
    populated = asyncio.run(_populate(drill.gateway))

    async def ids() -> dict[str, int]:
        db = await asyncpg.connect(drill.database_url)
        try:
            return dict(await db.fetch("SELECT username, id FROM auth.users"))
        finally:
            await db.close()

    known = asyncio.run(ids())
    for user in populated.users:
        user.id = known[user.name]
    return populated


@pytest.fixture
async def session(drill: DrillStack) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=drill.gateway) as client:
        yield client
