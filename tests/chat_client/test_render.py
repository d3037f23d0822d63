"""What the terminal shows, without a server."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import pytest

from chat_client.errors import ClientError
from chat_client.files import safe_filename
from chat_client.models import Chat, Message, UnreadChat
from chat_client.render import Renderer, format_size
from chat_client.targets import pick_chat
from chat_client.watch import Seen, close_reason

NOW = "2030-01-31T10:15:00.000Z"
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
        "  #41 10:15 alice: new",
        "  (2 shown before; `missed --all` repeats them)",
    ]


@pytest.mark.parametrize(
    ("kind", "data", "verbose", "line"),
    [
        ("message.deleted", {"chatId": 1, "seq": 3, "id": 9}, False, "* a message was deleted"),
        ("chat.member_joined", {"chatId": 1, "user": {"username": "eve"}}, False, "* eve joined"),
        ("chat.member_left", {"chatId": 1, "username": "eve"}, False, "* eve left"),
        # a deleted account is named as such, not as "someone"
        ("chat.member_left", {"chatId": 1, "user": None}, False, "* a deleted account left"),
        (
            "comment.created",
            {
                "chatId": 1,
                "comment": {"messageId": 9, "author": {"username": "eve"}, "body": "yum"},
            },
            False,
            "* eve commented on #9: yum",
        ),
        (
            "moderation.banned",
            {"until": "2030-01-31T12:00:00.000Z", "reason": "spam"},
            False,
            "! you are banned from writing to chats until 12:00 (spam)",
        ),
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


def test_times_and_waits_inside_the_servers_sentences_read_as_local() -> None:
    sentence = "you are banned from writing to chats until 2030-01-31T12:06:34.045Z"

    assert RENDER.local_times(sentence) == "you are banned from writing to chats until 12:06"
    assert RENDER.local_times("ask again in 86399 s") == "ask again in 23 h 59 min"
    assert RENDER.local_times("try again in 30 s") == "try again in 30 s"


@pytest.mark.parametrize(
    ("note", "text"),
    [
        ({"type": "followed"}, "eve follows you"),
        (
            {"type": "favorited", "article": {"slug": "s", "title": "Soup"}},
            'eve likes your recipe "Soup"',
        ),
        (
            {
                "type": "mentioned",
                "chat": {"id": 3, "title": "Bakers"},
                "message": {"id": 8, "seq": 2},
            },
            "eve mentioned you in Bakers (message #8)",
        ),
        ({"type": "chat.invited", "chat": {"id": 3, "title": "Bakers"}}, "eve added you to Bakers"),
        (
            {"type": "moderation", "actor": None, "reason": "spam"},
            "a moderator acted on something of yours: spam",
        ),
    ],
)
def test_a_notification_is_one_sentence(note: dict[str, Any], text: str) -> None:
    full = {"id": 5, "actor": {"username": "eve", "image": None}, "createdAt": NOW, "read": False}
    assert RENDER.notification_text({**full, **note}) == text
    assert RENDER.notification({**full, **note}) == f"*     5  10:15  {text}"


def test_the_status_tells_the_budget_bans_and_devices() -> None:
    status = {
        "bans": [{"reason": "spam", "startsAt": NOW, "endsAt": "2030-01-31T14:15:00.000Z"}],
        "sendBudget": {
            "limit": 20,
            "remaining": 17,
            "reserved": 1,
            "periodSeconds": 3600,
            "resetsAt": "2030-01-31T11:00:00.000Z",
        },
        "devices": 2,
        "chats": [{"chatId": 3, "title": "Bakers", "unreadCount": 4}],
    }

    assert RENDER.status(status) == [
        "General: 17 of 20 messages left this 1 h (1 reserved by scheduled messages), "
        "resets at 11:00",
        "banned from writing to chats until 14:15: spam",
        "2 devices connected live",
        "Bakers: 4 unread",
    ]
