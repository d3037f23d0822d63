"""Logging in, renewing tokens and failing readably, against the real stack."""

from __future__ import annotations

import socket
import stat

import pytest

from tests.chat_client.conftest import PASSWORD, ChatUser, MakeUser


def closed_port() -> int:
    """A port nothing listens on: bound, then released."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_register_saves_a_session_that_only_its_owner_can_read(alice: ChatUser) -> None:
    mode = stat.S_IMODE(alice.session_file.stat().st_mode)
    session = alice.session()

    assert mode == 0o600
    assert session["username"] == "alice"
    assert session["token"] and session["refreshToken"]
    assert (await alice.ok("whoami")).out.startswith("alice (session saved in ")


async def test_login_with_a_password_from_the_environment(
    alice: ChatUser, make_user: MakeUser
) -> None:
    laptop = make_user("alice-laptop")
    laptop.email = alice.email

    result = await laptop.run("login", alice.email, CHOPCHOP_PASSWORD=PASSWORD)

    assert (result.code, result.out, result.err) == (0, "logged in as alice\n", "")
    assert (await laptop.ok("whoami")).out.startswith("alice ")


async def test_a_wrong_password_is_told_in_the_gateways_words(alice: ChatUser) -> None:
    result = await alice.run("login", alice.email, "--password", "not the password")

    assert result.code == 1
    assert result.err.startswith("chopchop-chat: ") and result.err.count("\n") == 1
    assert "Traceback" not in result.err


async def test_an_invalid_access_token_is_renewed_with_the_refresh_token(
    alice: ChatUser,
) -> None:
    old_refresh = alice.session()["refreshToken"]
    alice.edit_session(token="expired.or.forged")

    chats = await alice.ok("chats")

    assert "General" in chats.out
    session = alice.session()
    # Both tokens are new: the refresh token rotates and the spent one is never kept.
    assert session["token"] != "expired.or.forged"
    assert session["refreshToken"] != old_refresh
    assert (await alice.ok("chats")).out == chats.out


async def test_watch_starts_after_renewing_an_invalid_access_token(alice: ChatUser) -> None:
    alice.edit_session(token="expired.or.forged")

    watch = await alice.start("watch")

    await watch.wait_for("live; Ctrl-C to stop")
    assert alice.session()["token"] != "expired.or.forged"


async def test_a_session_that_cannot_be_renewed_asks_to_log_in_again(alice: ChatUser) -> None:
    alice.edit_session(token="expired.or.forged", refreshToken="spent")

    result = await alice.run("chats")

    assert (result.code, result.out) == (4, "")
    assert result.err == (
        "chopchop-chat: your session has ended; log in again with `chopchop-chat login EMAIL`\n"
    )


@pytest.mark.parametrize(
    "args",
    [
        # without a session: the first call goes out
        ("login", "alice@example.com", "--password", PASSWORD),
        # with one: a plain call, and the websocket of `watch`
        ("chats",),
        ("watch",),
        ("send", "anyone there?"),
    ],
)
async def test_a_closed_port_is_told_as_an_unreachable_gateway_not_a_traceback(
    alice: ChatUser, make_user: MakeUser, args: tuple[str, ...]
) -> None:
    nowhere = f"http://127.0.0.1:{closed_port()}"
    offline = make_user("alice", gateway=nowhere)  # the same home as alice, another gateway

    result = await offline.run(*args)

    assert (result.code, result.out) == (3, "")
    assert result.err == (
        f"chopchop-chat: cannot reach the gateway at {nowhere} (connection refused); "
        "is it running? Set --gateway or CHOPCHOP_GATEWAY to its address.\n"
    )


async def test_a_command_without_a_session_asks_to_log_in(make_user: MakeUser) -> None:
    result = await make_user("nobody").run("chats")

    assert (result.code, result.err) == (
        4,
        "chopchop-chat: you are not logged in; run `chopchop-chat login EMAIL` or "
        "`register` first\n",
    )


async def test_logout_ends_the_session_here_and_at_the_gateway(alice: ChatUser) -> None:
    token = alice.session()["token"]

    assert (await alice.ok("logout")).out == "logged out alice\n"

    assert not alice.session_file.exists()
    # The old token no longer works even if someone kept a copy.
    alice.session_file.write_text(
        f'{{"username": "alice", "token": "{token}", "refreshToken": null}}'
    )
    assert (await alice.run("chats")).code == 4


async def test_logout_with_a_dead_token_still_forgets_the_session(alice: ChatUser) -> None:
    alice.edit_session(token="expired.or.forged")

    assert (await alice.ok("logout")).out == "logged out alice\n"

    assert not alice.session_file.exists()
