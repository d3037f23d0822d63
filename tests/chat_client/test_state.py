"""The saved session file, without a server."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from chat_client.connection import Connection
from chat_client.errors import GatewayUnreachable, LoginRequired
from chat_client.state import Session, SessionStore, StateError


def alice(**changes: object) -> Session:
    session = Session(username="alice", token="access-1", refresh_token="refresh-1")
    for name, value in changes.items():
        setattr(session, name, value)
    return session


def test_a_saved_session_loads_back_the_same(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "home")

    store.save(alice(last_seen={1: 12, 7: 3}))

    assert store.load() == alice(last_seen={1: 12, 7: 3})


def test_the_session_file_and_its_folder_are_private(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "home")

    store.save(alice())

    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.home.stat().st_mode) == 0o700


def test_saving_replaces_a_file_that_others_could_read(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    store.path.write_text("{}")
    os.chmod(store.path, 0o644)

    store.save(alice())

    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert list(tmp_path.iterdir()) == [store.path]  # no temporary file left behind


def test_no_file_means_no_session(tmp_path: Path) -> None:
    assert SessionStore(tmp_path).load() is None


@pytest.mark.parametrize(
    "text",
    [
        "not json",  # a truncated or foreign file
        '{"token": "x"}',  # no username
        '{"username": "a", "token": "x", "lastSeen": {"one": 2}}',  # a chat id that is no number
    ],
)
def test_a_damaged_file_is_a_sentence_that_says_to_log_in_again(tmp_path: Path, text: str) -> None:
    store = SessionStore(tmp_path)
    store.path.write_text(text)

    with pytest.raises(StateError, match="log in again"):
        store.load()


def test_tokens_stay_out_of_the_repr() -> None:
    assert "access-1" not in repr(alice()) and "refresh-1" not in repr(alice())


def test_seen_seqs_only_move_forward(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    store.save(alice(last_seen={1: 10, 2: 5}))

    store.record_seen({1: 4, 2: 9, 3: 1})

    loaded = store.load()
    assert loaded is not None and loaded.last_seen == {1: 10, 2: 9, 3: 1}


def test_seen_seqs_merge_into_what_another_process_saved_meanwhile(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    store.save(alice())
    # Another command of the same home renewed the tokens after this one read the file.
    store.save(alice(token="access-2", refresh_token="refresh-2"))

    store.record_seen({1: 3})

    assert json.loads(store.path.read_text()) == {
        "username": "alice",
        "token": "access-2",
        "refreshToken": "refresh-2",
        "lastSeen": {"1": 3},
    }


async def test_a_renewal_done_by_another_process_is_adopted_not_repeated(
    tmp_path: Path,
) -> None:
    store = SessionStore(tmp_path)
    store.save(alice())
    # The gateway is a closed port: a refresh call would fail loudly.
    async with Connection("http://127.0.0.1:1", store) as connection:
        spent = connection.require_session()
        store.save(alice(token="access-2", refresh_token="refresh-2"))

        await connection.renew_session(spent)

        assert connection.session is not None and connection.session.token == "access-2"


async def test_a_renewal_needs_the_gateway_when_nobody_renewed_yet(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    store.save(alice())
    async with Connection("http://127.0.0.1:1", store) as connection:
        with pytest.raises(GatewayUnreachable):
            await connection.renew_session(connection.require_session())


async def test_a_session_without_a_refresh_token_asks_to_log_in_again(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    store.save(alice(refresh_token=None))
    async with Connection("http://127.0.0.1:1", store) as connection:
        with pytest.raises(LoginRequired, match="log in again"):
            await connection.renew_session(connection.require_session())
