"""The pub/sub wire between chat replicas: every kind survives the trip, anything else is
dropped with a log line."""

from __future__ import annotations

import logging

import pytest

from chat_service.live.wire import (
    ChatEvent,
    ChatGone,
    Logged,
    MessageCreated,
    UserEvent,
    UserJoined,
    UserLeft,
    Wire,
    WireMessage,
)

URL = "redis://127.0.0.1:6379/3"
# An event's text as the sockets get it; newlines and any character travel untouched.
TEXT = '{"type":"message.created","data":{"body":"line one\\nline two \u00e9\U0001f372"}}'


@pytest.mark.parametrize(
    "message",
    [
        MessageCreated(7, 42, TEXT),
        ChatEvent(7, TEXT),
        ChatEvent(7, TEXT, skip_user=9),
        ChatGone(7, TEXT),
        UserEvent(9, TEXT),
        UserJoined(9, 7, 41, TEXT),
        UserLeft(9, 7, TEXT),
        # A text with raw newlines: only the first one ends the header.
        UserEvent(9, "a\nb\n\nc"),
        MessageCreated(7, 2**63 - 1, ""),
        # Recorded in the event log, with its id there.
        Logged(17, ChatEvent(7, TEXT, skip_user=9)),
        Logged(18, UserJoined(9, 7, 41, TEXT)),
    ],
)
def test_every_kind_comes_back_as_it_was_sent(message: WireMessage | Logged) -> None:
    wire = Wire(URL)
    channel, payload = wire.encode(message)
    assert wire.decode(channel, payload) == message


def test_a_chats_messages_go_on_its_channel_and_a_users_on_theirs() -> None:
    wire = Wire(URL)
    assert wire.encode(MessageCreated(7, 1, TEXT))[0] == wire.chat_channel(7) == "chat:3:c:7"
    assert wire.encode(UserLeft(9, 7, TEXT))[0] == wire.user_channel(9) == "chat:3:u:9"


def test_channels_are_scoped_by_the_redis_database() -> None:
    assert Wire("redis://127.0.0.1:6379/0").chat_channel(7) != Wire(URL).chat_channel(7)


def test_the_header_is_a_short_json_line_before_the_text() -> None:
    wire = Wire(URL)
    assert wire.encode(MessageCreated(7, 42, TEXT))[1] == f'{{"k":"m","s":42}}\n{TEXT}'
    assert wire.encode(ChatEvent(7, TEXT, skip_user=9))[1] == f'{{"k":"e","x":9}}\n{TEXT}'
    assert wire.encode(UserJoined(9, 7, 41, TEXT))[1] == f'{{"k":"join","c":7,"s":41}}\n{TEXT}'
    logged = Logged(17, ChatEvent(7, TEXT, 9))
    assert wire.encode(logged)[1] == f'{{"k":"e","x":9,"i":17}}\n{TEXT}'


def test_a_message_names_its_channel_for_the_event_log() -> None:
    wire = Wire(URL)
    for message in (ChatEvent(7, TEXT), ChatGone(7, TEXT), UserLeft(9, 7, TEXT)):
        scope, target = wire.scope_of(message)
        assert wire.channel_of(scope, target) == wire.encode(message)[0]


# What the release of 2026-12-06 publishes (its chat_service/publishing.py), so that old and
# new replicas hear each other during a rolling upgrade.
REFERENCE_RELEASE_PAYLOADS = [
    ("chat:3:c:7", f'{{"k": "m", "s": 42}}\n{TEXT}', MessageCreated(7, 42, TEXT)),
    ("chat:3:c:7", f'{{"k": "e"}}\n{TEXT}', ChatEvent(7, TEXT)),
    ("chat:3:c:7", f'{{"k": "e", "x": 9}}\n{TEXT}', ChatEvent(7, TEXT, skip_user=9)),
    ("chat:3:c:7", f'{{"k": "drop"}}\n{TEXT}', ChatGone(7, TEXT)),
    ("chat:3:u:9", f'{{"k": "u"}}\n{TEXT}', UserEvent(9, TEXT)),
    ("chat:3:u:9", f'{{"k": "join", "c": 7, "s": 41}}\n{TEXT}', UserJoined(9, 7, 41, TEXT)),
    ("chat:3:u:9", f'{{"k": "leave", "c": 7}}\n{TEXT}', UserLeft(9, 7, TEXT)),
]


@pytest.mark.parametrize(("channel", "payload", "message"), REFERENCE_RELEASE_PAYLOADS)
def test_the_reference_releases_payloads_are_read(
    channel: str, payload: str, message: WireMessage
) -> None:
    assert Wire(URL).decode(channel, payload) == message


def test_a_key_this_release_does_not_know_is_ignored() -> None:
    # A later release may add to a header (expand); this one still reads what it knows.
    payload = f'{{"k":"m","s":42,"t":1733500000}}\n{TEXT}'
    assert Wire(URL).decode("chat:3:c:7", payload) == MessageCreated(7, 42, TEXT)


@pytest.mark.parametrize(
    ("channel", "payload"),
    [
        ("chat:3:c:7", '{"k":"z"}\ntext'),  # a kind nobody publishes
        ("chat:3:c:7", '{"k":"m","s":42}'),  # no text after the header
        ("chat:3:c:7", '{"k":"m"}\ntext'),  # a message without its seq
        ("chat:3:c:7", '{"k":"m","s":"42"}\ntext'),  # a seq that is no number
        ("chat:3:c:7", '{"k":"e","x":"9"}\ntext'),  # a sender that is no number
        ("chat:3:c:7", "m 42\ntext"),  # a header that is no JSON
        ("chat:3:c:7", '["m",42]\ntext'),  # JSON, but no object
        ("chat:3:u:9", '{"k":"m","s":1}\ntext'),  # a chat's kind on a user's channel
        ("chat:3:c:7", '{"k":"join","c":7,"s":1}\ntext'),  # a user's kind on a chat's channel
        ("chat:3:u:9", '{"k":"join","c":7}\ntext'),  # a join without where it starts
        ("chat:3:x:9", '{"k":"u"}\ntext'),  # neither a chat nor a user
        ("chat:3:c:seven", '{"k":"drop"}\ntext'),  # a channel without a number
        ("chat:0:c:7", '{"k":"drop"}\ntext'),  # another database's channel
        ("chat:3:c:7", '{"k":"e","i":"x"}\ntext'),  # an event id that is no number
        ("chat:3:c:7", '{"i":1}\ntext'),  # an event id and no kind
        ("", ""),
    ],
)
def test_an_unreadable_payload_is_logged_and_dropped(
    channel: str, payload: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="chat_service.live.wire"):
        assert Wire(URL).decode(channel, payload) is None
    assert [r.getMessage() for r in caplog.records] == ["chat pub/sub payload dropped: unreadable"]


def test_a_flood_of_unreadable_payloads_logs_one_line(caplog: pytest.LogCaptureFixture) -> None:
    wire = Wire(URL)
    with caplog.at_level(logging.WARNING, logger="chat_service.live.wire"):
        for _ in range(100):
            assert wire.decode("chat:3:c:7", '{"k":"z"}\ntext') is None
    assert len(caplog.records) == 1
