"""Upgrading from the reference release, and running it again on the upgraded schema.

The reference release (tests/upgrade/reference.py) runs as `make run` runs it on a fresh
data folder and gets a realistic data set through the public API; then this checkout runs on
the same data. The tests run in this order, each from where the one before left the site.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.upgrade.dataset import Api, DataSet, differences, gaps, read_all, write
from tests.upgrade.reference import UPGRADE_REFERENCE
from tests.upgrade.releases import (
    ROOT,
    Release,
    Site,
    check_out,
    migrations_record,
    open_site,
    python_for,
)

pytestmark = [pytest.mark.upgrade, pytest.mark.timeout(600)]


@pytest.fixture(autouse=True)
async def clean_state() -> AsyncIterator[None]:
    """The upgrade keeps its state from one test to the next and never touches the suite's servers."""
    yield


@dataclass
class Upgrade:
    site: Site
    reference: Release
    current: Release
    data: DataSet
    before: dict[str, Any]  # every record as the reference release showed it
    shown: dict[str, dict[str, Any]] = field(default_factory=dict)  # by step, later

    async def run(self, release: Release) -> None:
        running = self.site.running
        if running is None or running[0] != release:
            await asyncio.to_thread(self.site.start, release)

    async def restart(self, release: Release) -> None:
        await asyncio.to_thread(self.site.start, release)


async def write_and_read(gateway: str) -> tuple[DataSet, dict[str, Any]]:
    async with aiohttp.ClientSession(base_url=gateway) as session:
        api = Api(session)
        data = await write(api)
        return data, await read_all(api, data)


@pytest.fixture(scope="module")
def upgrade(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upgrade]:
    root = Path(tmp_path_factory.mktemp("upgrade"))
    tree = check_out(UPGRADE_REFERENCE, root / "reference")
    reference = Release("reference", tree, python_for(tree, root / "venvs"))
    current = Release("current", ROOT, sys.executable)
    site = open_site(root / "site")
    try:
        site.start(reference)
        data, before = asyncio.run(write_and_read(site.gateway))
        assert gaps(before) == []
        site.start(current)  # stops the reference release first
        yield Upgrade(site, reference, current, data, before)
    finally:
        site.close()


@pytest.fixture
async def api(upgrade: Upgrade) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession(base_url=upgrade.site.gateway) as session:
        yield Api(session)


async def test_every_record_reads_back_the_same_after_the_upgrade(
    upgrade: Upgrade, api: Api
) -> None:
    await upgrade.run(upgrade.current)

    shown = await read_all(api, upgrade.data)

    assert upgrade.before["articles"]["articlesCount"] == 30
    assert len(upgrade.before["users"]["profiles"]) == 10
    assert differences(upgrade.before, shown) == []
    assert gaps(shown) == []


async def test_passwords_and_tokens_of_the_reference_release_keep_working(
    upgrade: Upgrade, api: Api
) -> None:
    await upgrade.run(upgrade.current)
    accounts = list(upgrade.data.accounts.values())

    for account in accounts:
        user = await api.log_in(account)
        assert user["username"] == account.name
        assert (await api.call("GET", "/api/user", user["token"]))["user"][
            "username"
        ] == account.name
    refreshed = await api.call(
        "POST", "/api/auth/refresh", json={"refreshToken": accounts[-1].refresh_token}
    )
    accounts[-1].refresh_token = refreshed["user"]["refreshToken"]
    assert await api.status("GET", "/api/user", refreshed["user"]["token"]) == 200


async def last_seq(api: Api, data: DataSet, chat: str) -> int:
    shown = await api.call("GET", f"/api/chats/{data.chats[chat]}", data.token(data.owners[chat]))
    return int(shown["chat"]["lastSeq"])


async def test_new_writes_on_old_records_work_and_chat_seqs_continue(
    upgrade: Upgrade, api: Api
) -> None:
    await upgrade.run(upgrade.current)
    data = upgrade.data
    slug = data.slugs[0]
    author = data.accounts["cook0"]

    edited = await api.call(
        "PUT",
        f"/api/articles/{slug}",
        author.token,
        json={"article": {"body": "Rewritten after the upgrade."}},
    )
    await api.call(
        "POST",
        f"/api/articles/{slug}/comments",
        data.token("cook5"),
        json={"comment": {"body": "still good"}},
    )
    liked = await api.call("POST", f"/api/articles/{data.slugs[1]}/favorite", data.token("cook0"))
    followed = await api.call("POST", "/api/profiles/cook1/follow", author.token)
    bio = await api.call(
        "PUT", "/api/user", data.token("cook5"), json={"user": {"bio": "upgraded"}}
    )
    assert edited["article"]["body"] == "Rewritten after the upgrade."
    assert liked["article"]["favorited"] is True
    assert followed["profile"]["following"] is True
    assert bio["user"]["bio"] == "upgraded"

    for chat in data.chats:
        name = data.owners[chat]
        before = await last_seq(api, data, chat)
        history = (
            await api.call(
                "GET", f"/api/chats/{data.chats[chat]}/messages?limit=100", data.token(name)
            )
        )["messages"]
        old = next(m for m in history if m["author"]["username"] == name and not m["deleted"])
        sent = await api.send(data, chat, name, "after the upgrade", replyTo=old["id"])
        path = f"/api/chats/{data.chats[chat]}/messages/{old['id']}"
        edited_message = await api.call(
            "PATCH", path, data.token(name), json={"message": {"body": "edited after the upgrade"}}
        )
        await api.call(
            "POST", f"{path}/comments", data.token(name), json={"comment": {"body": "a new thread"}}
        )
        await api.call(
            "POST",
            f"/api/chats/{data.chats[chat]}/read",
            data.token(name),
            json={"seq": sent["seq"]},
        )
        assert sent["seq"] == before + 1, chat
        assert sent["replyTo"] is not None
        assert edited_message["message"]["body"] == "edited after the upgrade"

    # The invite links of the reference release still let people in.
    joined = await api.call("POST", f"/api/chats/join/{data.invites['club']}", data.token("cook9"))
    asked = await api.call(
        "POST", f"/api/chats/join/{data.invites['secret']}", data.token("cook7"), expect=(202,)
    )
    assert int(joined["chat"]["id"]) == data.chats["club"]
    assert asked["joinRequest"]["status"] == "pending"
    assert gaps(await read_all(api, data)) == []


async def test_a_second_start_changes_nothing(upgrade: Upgrade, api: Api) -> None:
    await upgrade.run(upgrade.current)
    record = await migrations_record(upgrade.site.database_url)
    shown = await read_all(api, upgrade.data)

    await upgrade.restart(upgrade.current)

    assert await migrations_record(upgrade.site.database_url) == record
    again = await read_all(api, upgrade.data)
    assert differences(shown, again) == []
    assert differences(again, shown) == []
    upgrade.shown["second start"] = again


async def test_the_reference_release_serves_on_the_upgraded_schema_and_keeps_revocations(
    upgrade: Upgrade, api: Api
) -> None:
    await upgrade.run(upgrade.current)
    data = upgrade.data
    shown = upgrade.shown.get("second start") or await read_all(api, data)
    # This release ends sessions: a sign-out, and a password change (which ends every session).
    signed_out = data.accounts["cook2"]
    await api.call("POST", "/api/auth/logout", signed_out.token)
    changed = data.accounts["cook4"]
    answer = await api.call(
        "PUT", "/api/user", changed.token, json={"user": {"password": "a-new-secret-4"}}
    )
    new_token = answer["user"]["token"]

    await upgrade.run(upgrade.reference)

    assert await api.status("GET", "/api/user", signed_out.token) == 401
    assert (
        await api.status(
            "POST", "/api/auth/refresh", json={"refreshToken": signed_out.refresh_token}
        )
        == 401
    )
    assert await api.status("GET", "/api/user", changed.token) == 401
    assert await api.status("GET", "/api/user", new_token) == 200
    assert (
        await api.status(
            "POST",
            "/api/users/login",
            json={"user": {"email": changed.email, "password": changed.password}},
        )
        != 200
    )
    changed.password = "a-new-secret-4"
    changed.token = (await api.log_in(changed))["token"]
    signed_out.token = (await api.log_in(signed_out))["token"]

    assert differences(await read_all(api, data), shown) == []
    newcomer = await api.sign_up("newcomer", "newcomer-secret")
    assert (await api.log_in(newcomer))["username"] == "newcomer"

    article = {
        "title": "Made by the reference release",
        "description": "d",
        "body": "b",
        "tagList": ["soup"],
    }
    created = await api.call("POST", "/api/articles", newcomer.token, json={"article": article})
    await api.call(
        "POST", f"/api/articles/{created['article']['slug']}/favorite", data.token("cook1")
    )
    before = await last_seq(api, data, "club")
    sent = await api.send(data, "club", "cook0", "from the reference release again")
    assert sent["seq"] == before + 1
    assert gaps(await read_all(api, data)) == []
