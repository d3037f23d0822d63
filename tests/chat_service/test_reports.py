"""Which reports count toward the automatic ban: only those of accounts with a confirmed
e-mail that are older than CHAT_REPORTER_MIN_AGE. Every report is filed all the same."""

from __future__ import annotations

import asyncpg
import pytest

from tests.chat_service.conftest import general_id
from tests.chat_service.helpers import Replicas
from tests.services import Users
from tests.typing import AppClient

REPORTERS = ("anna", "ben", "cleo")


async def report_by_all(client: AppClient, users: Users, target: str) -> list[int]:
    statuses = []
    for name in REPORTERS:
        response = await client.post(
            f"/api/users/{target}/report", json={"reason": "spam"}, headers=users[name]
        )
        statuses.append(response.status)
    return statuses


async def can_send(client: AppClient, users: Users, name: str) -> int:
    general = await general_id(client, users[name])
    response = await client.post(
        f"/api/chats/{general}/messages", json={"message": {"body": "hi"}}, headers=users[name]
    )
    return response.status


async def age_accounts(
    db: asyncpg.Connection, users: Users, *, confirmed: bool, days: float
) -> None:
    await db.execute(
        """UPDATE auth.users SET email_confirmed = $2,
             created_at = now() - make_interval(secs => $3)
           WHERE id = ANY($1::bigint[])""",
        [users.ids[name] for name in REPORTERS],
        confirmed,
        days * 86400,
    )


async def test_accounts_made_a_moment_ago_ban_nobody(
    replicas: Replicas, users: Users, db: asyncpg.Connection
) -> None:
    # The attack of issue 23 with the defaults: three new accounts, e-mail unconfirmed.
    a, b = await replicas(2)
    await users.add("victim", *REPORTERS)
    statuses = await report_by_all(a, users, "victim")

    assert statuses == [201, 201, 201]
    assert await can_send(b, users, "victim") == 201
    filed = await db.fetch("SELECT counted FROM chat.reports ORDER BY id")
    assert [row["counted"] for row in filed] == [False, False, False]


@pytest.mark.parametrize(
    ("confirmed", "days"),
    [
        (False, 2),  # old enough, e-mail unconfirmed
        (True, 0.5),  # confirmed, younger than the default day
    ],
)
async def test_a_report_counts_only_with_both_a_confirmed_email_and_age(
    replicas: Replicas, users: Users, db: asyncpg.Connection, confirmed: bool, days: float
) -> None:
    (chat,) = await replicas(1)
    await users.add("victim", *REPORTERS)
    await age_accounts(db, users, confirmed=confirmed, days=days)
    await report_by_all(chat, users, "victim")
    assert await can_send(chat, users, "victim") == 201


async def test_three_confirmed_established_accounts_ban(
    replicas: Replicas, users: Users, db: asyncpg.Connection
) -> None:
    (chat,) = await replicas(1)
    await users.add("victim", *REPORTERS)
    await age_accounts(db, users, confirmed=True, days=2)
    await report_by_all(chat, users, "victim")
    assert await can_send(chat, users, "victim") == 403
    filed = await db.fetch("SELECT counted FROM chat.reports ORDER BY id")
    assert [row["counted"] for row in filed] == [True, True, True]


async def test_development_may_turn_the_confirmation_rule_off(
    replicas: Replicas, users: Users, db: asyncpg.Connection
) -> None:
    (chat,) = await replicas(1, CHAT_REPORTER_REQUIRE_CONFIRMED="false")
    await users.add("victim", *REPORTERS)
    await age_accounts(db, users, confirmed=False, days=2)
    await report_by_all(chat, users, "victim")
    assert await can_send(chat, users, "victim") == 403
