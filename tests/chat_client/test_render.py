"""What the terminal shows, without a server."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import pytest

from chat_client.api import safe_filename
from chat_client.errors import ClientError
from chat_client.models import Chat, Message, UnreadChat
from chat_client.render import Renderer, format_size
from chat_client.targets import pick_chat
from chat_client.watch import Seen, close_reason

RENDER = Renderer(tz=UTC, now=lambda: datetime(2030, 1, 31, 15, 0, tzinfo=UTC))


def message(**fields: Any) -> Message:
    base: dict[str, Any] = {
        "id": 41,
        "chatId": 1,
        "seq": 7,
        "author": {"username": "alice", "image": None},
        "body": "hello",
        "attachment": None,
        "replyTo": None,
        "createdAt": "2030-01-31T10:15:30.123Z",
        "editedAt": None,
        "deleted": False,
        "expiresAt": None,
        "commentsCount": 0,
    }
    return cast(Message, {**base, **fields})


def chat(id: int, title: str | None, kind: str = "group", **fields: Any) -> Chat:
    base: dict[str, Any] = {
        "id": id,
        "type": kind,
        "title": title,
        "description": None,
        "private": False,
        "owner": None,
        "messageTtlSeconds": None,
        "createdAt": "2030-01-01T00:00:00.000Z",
        "lastSeq": 0,
        "lastMessage": None,
        "unreadCount": 0,
    }
    return cast(Chat, {**base, **fields})


@pytest.mark.parametrize(
    ("fields", "line"),
    [
        # a plain message of today: the time only
        ({}, "#41 10:15 alice: hello"),
        # another day of this year, another year
        ({"createdAt": "2030-01-02T08:00:00.000Z"}, "#41 02 Jan 08:00 alice: hello"),
        ({"createdAt": "2029-12-31T23:59:00.000Z"}, "#41 2029-12-31 23:59 alice: hello"),
        # line breaks do not break the one-line layout
        ({"body": "one\n\ntwo\n"}, "#41 10:15 alice: one / two"),
        # a tombstone keeps its place without a body
        ({"deleted": True, "body": None}, "#41 10:15 alice: (deleted)"),
        # an author whose account is gone
        ({"author": None}, "#41 10:15 (unknown): hello"),
        # an answer, an edit, a thread
        ({"replyTo": 40}, "#41 10:15 alice: (re #40) hello"),
        ({"editedAt": "2030-01-31T10:16:00.000Z"}, "#41 10:15 alice: hello (edited)"),
        ({"commentsCount": 2}, "#41 10:15 alice: hello (2 comments)"),
        # a file says how to fetch it
        (
            {
                "attachment": {
                    "id": "5f3a",
                    "filename": "a.txt",
                    "contentType": "text/plain",
                    "size": 2048,
                }
            },
            "#41 10:15 alice: hello [file 5f3a: a.txt, 2.0 KB]",
        ),
    ],
)
def test_a_message_is_one_readable_line(fields: dict[str, Any], line: str) -> None:
    assert RENDER.message(message(**fields)) == line


def test_a_message_of_another_chat_carries_its_label() -> None:
    assert RENDER.message(message(), label="bob") == "[bob] #41 10:15 alice: hello"


@pytest.mark.parametrize(
    ("size", "text"), [(0, "0 B"), (1023, "1023 B"), (1536, "1.5 KB"), (5 * 1024**2, "5.0 MB")]
)
def test_sizes_are_shown_in_the_largest_fitting_unit(size: int, text: str) -> None:
    assert format_size(size) == text


def test_the_chat_list_is_a_table_with_unread_counts_and_the_last_message() -> None:
    chats = [
        chat(1, "General", "general", unreadCount=3, lastMessage=message(body="x" * 60)),
        chat(12, "bob", "direct"),
    ]

    assert RENDER.chats(chats) == [
        "ID  CHAT     TYPE     UNREAD  LAST MESSAGE",
        " 1  General  general       3  10:15 alice: " + "x" * 37 + "...",
        "12  bob      direct        -",
    ]


def test_missed_shows_the_count_and_says_how_many_were_left_out() -> None:
    unread = cast(
        UnreadChat,
        {
            "chatId": 1,
            "title": "General",
            "lastSeq": 8,
            "readSeq": 5,
            "unreadCount": 3,
            "messages": [message(seq=6), message(seq=7), message(seq=8, body="new")],
        },
    )

    assert RENDER.missed(unread, [message(seq=8, body="new")]) == [
        "General: 3 unread",
        "  10:15 alice: new",
        "  (2 shown before; `missed --all` repeats them)",
    ]


@pytest.mark.parametrize(
    ("kind", "data", "verbose", "line"),
    [
        ("message.deleted", {"chatId": 1, "seq": 3, "id": 9}, False, "* a message was deleted"),
        ("chat.member_joined", {"chatId": 1, "user": {"username": "eve"}}, False, "* eve joined"),
        ("chat.member_left", {"chatId": 1, "username": "eve"}, False, "* eve left"),
        ("error", {"message": "chat not found"}, False, "! the server says: chat not found"),
        # presence and typing are noise unless asked for
        ("presence", {"username": "bob", "online": True}, False, None),
        ("presence", {"username": "bob", "online": False}, True, "* bob is offline"),
        ("typing", {"chatId": 1, "username": "bob"}, True, "* bob is typing"),
        # an event this client does not know is not shown
        ("something.new", {}, True, None),
    ],
)
def test_live_events_other_than_messages(
    kind: str, data: dict[str, Any], verbose: bool, line: str | None
) -> None:
    assert RENDER.event(kind, data, label=None, verbose=verbose) == line


def test_a_chat_is_named_by_id_title_or_general() -> None:
    chats = [chat(1, "General", "general"), chat(5, "bob", "direct"), chat(9, "Soup Club")]

    assert pick_chat(chats, "5")["id"] == 5
    assert pick_chat(chats, "soup club")["id"] == 9
    assert pick_chat(chats, "general")["id"] == 1


def test_two_chats_with_one_title_are_not_guessed_between() -> None:
    chats = [chat(3, "Bakers"), chat(4, "Bakers")]

    with pytest.raises(ClientError, match=r"several chats are called 'bakers' \(ids 3, 4\)"):
        pick_chat(chats, "bakers")


@pytest.mark.parametrize(
    ("sent", "saved"),
    [
        ("notes.txt", "notes.txt"),
        ("../../.bashrc", ".bashrc"),  # no climbing out of the download folder
        ("C:\\Users\\x\\photo.jpg", "photo.jpg"),
        ("..", "attachment-7"),
        (None, "attachment-7"),
    ],
)
def test_a_downloaded_file_keeps_only_the_last_part_of_its_name(
    sent: str | None, saved: str
) -> None:
    assert safe_filename(sent, "7") == saved


def test_a_message_seen_once_is_not_shown_again_and_resume_starts_after_the_highest() -> None:
    seen = Seen()
    seen.baseline(1, 4)
    for seq in (5, 7, 6):
        assert seen.is_new(1, seq)
        seen.mark(1, seq)

    assert not seen.is_new(1, 6)
    assert seen.high == {1: 7}
    assert seen.shown_high() == {1: 7}


def test_a_dropped_slow_client_is_told_why() -> None:
    assert close_reason(1013) == "the server dropped this client for falling behind (code 1013)"
    assert close_reason(None) == "the connection was lost"
