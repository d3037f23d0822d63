"""Answering, changing, deleting and commenting messages, paging back, the user's status,
notifications and the moderators' commands, from the command line."""

from __future__ import annotations

import re

import aiohttp
import asyncpg
import pytest

from tests.chat_client.conftest import LIVE, PASSWORD, ChatUser, MakeUser
from tests.infra import Infra
from tests.stack import Stack


def message_id(out: str) -> int:
    found = re.search(r"message #(\d+)", out)
    assert found, out
    return int(found.group(1))


async def test_a_message_is_answered_edited_commented_and_deleted(
    alice: ChatUser, bob: ChatUser
) -> None:
    first = message_id((await alice.ok("send", "--to", "bob", "soup tonight?")).out)
    watch = await alice.start("watch", "bob")
    await watch.wait_for(LIVE)

    replied = await bob.ok("reply", "alice", str(first), "yes, with bread")
    assert re.fullmatch(rf"sent message #\d+ to alice in reply to #{first}\n", replied.out)
    answer = message_id(replied.out)
    line = await watch.wait_for("yes, with bread")
    assert re.fullmatch(rf"#{answer} \d\d:\d\d bob: \(re #{first}\) yes, with bread", line)

    assert (await bob.ok("edit", "alice", str(answer), "yes, with rye bread")).out == (
        f"edited message #{answer} in alice\n"
    )
    await watch.wait_for("bob edited a message: yes, with rye bread")
    edited = await alice.ok("history", "bob")
    assert edited.lines[-1].endswith(f"bob: (re #{first}) yes, with rye bread (edited)")
    refused = await alice.run("edit", "bob", str(answer), "no")
    assert refused.code == 1 and refused.err.startswith("chopchop-chat: "), refused

    assert (await alice.ok("comment", "bob", str(answer), "rye it is")).out == (
        f"commented on message #{answer} in bob\n"
    )
    comments = await bob.ok("comments", "alice", str(answer))
    assert comments.lines[0] == f"message #{answer}: 1 comment"
    assert re.fullmatch(r"  \d\d:\d\d alice: rye it is", comments.lines[1])

    assert (await bob.ok("delete", "alice", str(answer))).out == (
        f"deleted message #{answer} in alice\n"
    )
    await watch.wait_for("a message was deleted")
    history = await alice.ok("history", "bob")
    assert re.fullmatch(rf"#{answer} \d\d:\d\d bob: \(deleted\)", history.lines[-1])
    gone = await alice.run("comments", "bob", str(answer))
    assert gone.code == 1 and f"#{answer}" in gone.err
    # Every number that names a message is written #ID; a position in a chat is a seq.
    read = await alice.ok("read", "bob")
    assert re.fullmatch(r"bob: read up to seq 2, 0 unread\n", read.out)


# A command about a message that the chat does not hold, and what it says instead of the 404.
NO_SUCH_MESSAGE = [
    # Only the author's own messages can be edited: the sentence says so.
    (("edit", "bob", "{id}", "x"), "no message #{id} in bob that you can edit"),
    (("delete", "bob", "{id}"), "no message #{id} in bob"),
    # A message may have gone since it was listed.
    (("comment", "bob", "{id}", "x"), "no message #{id} in bob (deleted or expired?)"),
    (("comments", "bob", "{id}"), "no message #{id} in bob (deleted or expired?)"),
    (
        ("cancel", "bob", "{id}"),
        "no scheduled message #{id} in bob: it was sent already, cancelled, or is not yours",
    ),
]


async def test_a_message_the_chat_does_not_hold_is_named_in_the_refusal(
    alice: ChatUser, bob: ChatUser
) -> None:
    await alice.ok("send", "--to", "bob", "soup tonight?")
    missing = "999999999"  # no test sends that many messages
    for command, sentence in NO_SUCH_MESSAGE:
        refused = await alice.run(*(word.format(id=missing) for word in command))
        assert (refused.code, refused.out) == (1, ""), refused
        assert refused.err == f"chopchop-chat: {sentence.format(id=missing)}\n", refused


async def test_history_pages_back(alice: ChatUser) -> None:
    await alice.ok("group", "create", "Pages")
    for number in range(5):
        await alice.ok("send", "--chat", "Pages", f"page {number}")
    newest = await alice.ok("history", "Pages", "--limit", "2")
    assert [line.split(": ", 1)[1] for line in newest.lines[:2]] == ["page 3", "page 4"]
    hint = newest.lines[2]
    found = re.fullmatch(r"-- older: chopchop-chat history (\d+) --before (\d+) --", hint)
    assert found, hint
    older = await alice.ok("history", found.group(1), "--before", found.group(2), "--limit", "2")
    assert [line.split(": ", 1)[1] for line in older.lines[:2]] == ["page 1", "page 2"]
    oldest = await alice.ok("history", "Pages", "--before", older.lines[0][1:].split()[0])
    assert [line.split(": ", 1)[1] for line in oldest.lines] == ["page 0"]


async def test_status_tells_the_budget_and_the_ban_in_local_time(
    alice: ChatUser, make_user: MakeUser, running_stack: Stack, infra: Infra
) -> None:
    await alice.ok("send", "one for the budget")
    status = await alice.ok("status")
    assert status.lines[0] == f"alice at {alice.gateway}"
    assert re.fullmatch(
        r"General: 19 of 20 messages left this 1 h, resets at \d\d:\d\d", status.lines[1]
    )
    assert status.lines[2:4] == ["not banned", "0 devices connected live"]

    mod = await moderator(make_user, infra)
    banned = await mod.ok("ban", "alice", "--for", "2h", "spam", "again")
    assert re.fullmatch(
        r"banned alice from writing to chats for 2 h, until \d\d:\d\d\n", banned.out
    )
    refused = await alice.run("send", "still here")
    # The ban's end is shown as a local time, as every time is.
    assert refused.code == 1
    assert re.fullmatch(
        r"chopchop-chat: you are banned from writing to chats until \d\d:\d\d\n", refused.err
    ), refused.err
    assert re.match(
        r"banned from writing to chats until \d\d:\d\d: spam again",
        (await alice.ok("status")).lines[2],
    )
    bans = await mod.ok("bans")
    assert re.fullmatch(r"alice until \d\d:\d\d \(mod\): spam again\n", bans.out)
    assert (await mod.ok("unban", "alice")).out == "lifted the ban on alice\n"
    assert (await mod.ok("bans")).out == "nobody is banned\n"
    await alice.ok("send", "back again")


async def moderator(make_user: MakeUser, infra: Infra) -> ChatUser:
    """A user given the moderator role as `make admin` does, logged in again."""
    mod = make_user("mod")
    await mod.register()
    connection = await asyncpg.connect(infra.stack_database_url)
    try:
        await connection.execute("UPDATE auth.users SET role = 'moderator' WHERE username = 'mod'")
    finally:
        await connection.close()
    result = await mod.run("login", mod.email, CHOPCHOP_PASSWORD=PASSWORD)
    assert result.code == 0, result
    return mod


async def test_reports_reach_the_moderators_who_resolve_them(
    alice: ChatUser, bob: ChatUser, make_user: MakeUser, infra: Infra
) -> None:
    await alice.ok("report", "bob", "rude", "words")
    forbidden = await alice.run("reports")
    assert forbidden.code == 1 and forbidden.err.startswith("chopchop-chat: "), forbidden

    mod = await moderator(make_user, infra)
    listed = await mod.ok("reports", "--status", "open")
    assert listed.lines[0] == "1 report"
    found = re.fullmatch(
        r"report (\d+)  \d\d:\d\d  alice about bob: rude words \(open, not counted toward a ban\)",
        listed.lines[1],
    )
    assert found, listed.lines
    resolved = await mod.ok("resolve", found.group(1), "dismiss", "just", "banter")
    assert resolved.out == f"dismissed report {found.group(1)} about bob\n"
    assert (await mod.ok("reports", "--status", "open")).out == "0 reports\n"
    missing = await mod.run("resolve", "999999", "uphold")
    assert (missing.code, missing.err) == (1, "chopchop-chat: there is no report 999999\n")


async def gateway_has_notifications(url: str) -> bool:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{url}/api/openapi.json", timeout=aiohttp.ClientTimeout(total=30)) as response,
    ):
        document = await response.json()
    return "/api/notifications" in document.get("paths", {})


async def test_notifications_say_in_one_sentence_when_the_gateway_has_none(
    alice: ChatUser, running_stack: Stack
) -> None:
    if await gateway_has_notifications(running_stack.url):
        result = await alice.ok("notifications")
        # The count is whatever the stack holds for alice (its consumers outlive a test).
        assert re.fullmatch(r"(no|\d+) unread notifications? \(\* marks them\)", result.lines[0])
        return
    result = await alice.run("notifications")
    assert (result.code, result.err) == (
        1,
        f"chopchop-chat: this gateway ({alice.gateway}) has no notifications yet; "
        "it answered 404 to /api/notifications\n",
    )


async def test_an_invitation_and_a_mention_reach_the_notifications(
    alice: ChatUser, bob: ChatUser, running_stack: Stack
) -> None:
    if not await gateway_has_notifications(running_stack.url):
        pytest.skip("the gateway's OpenAPI document has no /api/notifications")
    await alice.ok("group", "create", "Noted")
    await alice.ok("members", "add", "Noted", "bob")
    await alice.ok("send", "--chat", "Noted", "@bob the oven is free")

    listed = await bob.ok("notifications")
    assert listed.lines[0] == "2 unread notifications (* marks them)"
    assert re.fullmatch(
        r"\*\s+\d+  \d\d:\d\d  alice mentioned you in Noted \(message #\d+\)", listed.lines[1]
    )
    assert re.fullmatch(r"\*\s+\d+  \d\d:\d\d  alice added you to Noted", listed.lines[2])
    only = await bob.ok("notifications", "--types", "chat.invited", "--mark-read")
    assert len(only.lines) == 3 and only.lines[-1] == "marked as read; 1 unread left"
    assert (await bob.ok("notifications")).lines[0] == "1 unread notification (* marks them)"
