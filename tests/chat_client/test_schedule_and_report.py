"""Scheduled messages and reports, against the real stack."""

from __future__ import annotations

import asyncio
import re

import asyncpg

from tests.chat_client.conftest import ChatUser, MakeUser
from tests.infra import Infra


def scheduled_id(text: str) -> str:
    found = re.search(r"scheduled message #(\d+) in ", text)
    assert found, text
    return found.group(1)


async def test_a_scheduled_message_is_listed_until_it_is_cancelled(
    alice: ChatUser, bob: ChatUser
) -> None:
    scheduled = await alice.ok("schedule", "--in", "3600", "--to", "bob", "happy birthday")
    number = scheduled_id(scheduled.out)
    assert re.fullmatch(
        rf"scheduled message #{number} in bob for [^;]+; "
        rf"cancel it with: chopchop-chat cancel \d+ {number}\n",
        scheduled.out,
    )

    listed = await alice.ok("scheduled", "bob")
    assert re.fullmatch(rf"#{number} at .+: happy birthday\n", listed.out)
    # Not sent yet: bob has nothing.
    assert (await bob.ok("missed")).out == "nothing unread\n"

    cancelled = await alice.ok("cancel", "bob", number)
    assert cancelled.out == f"cancelled scheduled message #{number} in bob\n"
    assert (await alice.ok("scheduled", "bob")).out == "no scheduled messages in bob\n"
    again = await alice.run("cancel", "bob", number)
    assert again.code == 1 and "it was sent already, cancelled, or is not yours" in again.err


async def test_a_scheduled_message_arrives_at_its_time(alice: ChatUser, bob: ChatUser) -> None:
    await alice.ok("send", "--to", "bob", "hi")
    watch = await bob.start("watch", "alice")
    await watch.wait_for("live; Ctrl-C to stop")

    await alice.ok("schedule", "--in", "2", "--to", "bob", "two seconds later")

    await watch.wait_for("alice: two seconds later", timeout=30)


async def test_a_time_in_the_past_is_refused_before_anything_is_sent(alice: ChatUser) -> None:
    result = await alice.run("schedule", "--at", "2001-01-01T00:00Z", "too late")

    assert (result.code, result.err) == (
        1,
        "chopchop-chat: the time to send at has already passed\n",
    )


async def test_reporting_a_user_is_confirmed(alice: ChatUser, bob: ChatUser) -> None:
    result = await alice.ok("report", "bob", "sends", "spam")

    assert result.out == "reported bob; thank you\n"


async def test_a_user_banned_by_three_reports_is_told_why_sending_fails(
    bob: ChatUser, make_user: MakeUser, infra: Infra
) -> None:
    names = ("carol", "dave", "erin")
    reporters = [make_user(name) for name in names]
    await asyncio.gather(*(reporter.register() for reporter in reporters))
    # Only established accounts with a confirmed e-mail ban by their reports.
    connection = await asyncpg.connect(infra.stack_database_url)
    try:
        await connection.execute(
            """UPDATE auth.users SET email_confirmed = true,
                 created_at = now() - interval '2 days'
               WHERE username = ANY($1::text[])""",
            list(names),
        )
    finally:
        await connection.close()
    for reporter in reporters:
        await reporter.ok("report", "bob", "rude")

    refused = await bob.run("send", "let me speak")

    # The 403's own sentence, which says until when.
    assert refused.code == 1
    assert refused.err.startswith("chopchop-chat: ") and refused.err.count("\n") == 1
    assert re.search(r"\d\d:\d\d|\d{4}-\d\d-\d\d", refused.err), refused.err
