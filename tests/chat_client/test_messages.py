"""Sending, listing chats, history, what was missed and read markers, against the real stack."""

from __future__ import annotations

import re

from tests.chat_client.conftest import ChatUser


def row(lines: list[str], title: str) -> list[str]:
    """The columns of the `chats` line of one chat."""
    for line in lines[1:]:
        columns = line.split()
        if columns[1] == title:
            return columns
    raise AssertionError(f"no chat {title!r} in {lines}")


async def test_a_message_to_general_is_in_the_history_of_everyone(
    alice: ChatUser, bob: ChatUser
) -> None:
    sent = await alice.ok("send", "hello", "everyone")
    assert re.fullmatch(r"sent message #\d+ to General\n", sent.out)

    history = await bob.ok("history", "General")

    assert re.fullmatch(r"#\d+ \d\d:\d\d alice: hello everyone", history.lines[-1])


async def test_a_direct_message_opens_a_chat_that_the_other_user_sees_with_its_unread_count(
    alice: ChatUser, bob: ChatUser
) -> None:
    await alice.ok("send", "--to", "bob", "lunch at noon?")

    chats = await bob.ok("chats")

    assert chats.lines[0].split() == ["ID", "CHAT", "TYPE", "UNREAD", "LAST", "MESSAGE"]
    assert row(chats.lines, "alice")[2:4] == ["direct", "1"]
    assert " ".join(row(chats.lines, "alice")[5:]) == "alice: lunch at noon?"
    # A direct chat is named after the other person, so bob answers with --chat alice.
    await bob.ok("send", "--chat", "alice", "yes")
    history = await alice.ok("history", "bob")
    assert [line.split(" ", 2)[2] for line in history.lines] == [
        "alice: lunch at noon?",
        "bob: yes",
    ]


async def test_a_chat_can_be_named_by_its_id(alice: ChatUser, bob: ChatUser) -> None:
    chats = await alice.ok("chats")
    general_id = row(chats.lines, "General")[0]

    await alice.ok("send", "--chat", general_id, "by number")

    assert (await bob.ok("history", general_id)).lines[-1].endswith("alice: by number")


async def test_an_unknown_chat_is_a_sentence_not_a_traceback(alice: ChatUser) -> None:
    result = await alice.run("send", "--chat", "nowhere", "hello?")

    assert result.code == 1
    assert result.err == (
        "chopchop-chat: you have no chat called 'nowhere'; `chopchop-chat chats` lists yours\n"
    )


async def test_a_message_can_come_from_standard_input(alice: ChatUser) -> None:
    await alice.ok("send", "-", stdin="first line\nsecond line\n")

    history = await alice.ok("history")

    assert history.lines[-1].endswith("alice: first line / second line")


async def test_missed_shows_unread_messages_once_and_read_clears_them(
    alice: ChatUser, bob: ChatUser
) -> None:
    await alice.ok("send", "--to", "bob", "one")
    await alice.ok("send", "--to", "bob", "two")

    missed = await bob.ok("missed")
    assert missed.lines[0] == "alice: 2 unread"
    assert [line.split(" ", 4)[4] for line in missed.lines[1:]] == ["alice: one", "alice: two"]

    # The next run shows only what is new since, and says how many it left out.
    await alice.ok("send", "--to", "bob", "three")
    again = await bob.ok("missed")
    assert again.lines[0] == "alice: 3 unread"
    assert again.lines[1].endswith("alice: three")
    assert again.lines[2] == "  (2 shown before; `missed --all` repeats them)"
    assert len((await bob.ok("missed", "--all")).lines) == 4

    read = await bob.ok("read", "alice")
    assert read.out.endswith(", 0 unread\n")
    assert (await bob.ok("missed")).out == "nothing unread\n"
    assert row((await bob.ok("chats")).lines, "alice")[3] == "-"


async def test_the_general_chat_limit_is_told_with_when_to_try_again(alice: ChatUser) -> None:
    # 20 messages an hour in General by default; the 21st is refused with Retry-After.
    for number in range(20):
        await alice.ok("send", f"message {number}")

    refused = await alice.run("send", "one too many")

    assert (refused.code, refused.out) == (1, "")
    # Said once, whether by the server's sentence or from the Retry-After header.
    # Long waits read in minutes: "try again in 59 min 12 s".
    assert re.fullmatch(
        r"chopchop-chat: [^\n]+try again in (\d+ (h|min|s) ?)+\)?\n", refused.err
    ), refused.err
    assert refused.err.count("try again") == 1
