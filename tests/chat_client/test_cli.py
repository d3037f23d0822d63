"""The command line without a server: parsing, help, and failures told in one sentence."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chat_client import cli
from chat_client.commands import send_at
from chat_client.errors import ApiError, ClientError
from chat_client.manage import invite_code, seconds_of

COMMANDS = sorted(
    name
    for action in cli.build_parser()._actions
    if isinstance(action, argparse._SubParsersAction)
    for name in action.choices
)


def parse(*args: str) -> argparse.Namespace:
    return cli.build_parser().parse_args(list(args))


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_its_own_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse(command, "--help")

    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: chopchop-chat {command} ")
    assert "--gateway" in out  # global options are accepted after the command too


def test_the_issue_lists_no_command_the_client_lacks() -> None:
    wanted = {
        "register", "login", "logout", "chats", "history", "watch", "send", "missed", "read",
        "upload", "download", "schedule", "scheduled", "cancel", "report", "open", "group",
        "members", "leave", "invite", "join", "requests", "approve", "reject", "reply",
        "edit", "delete", "comment", "comments", "status", "notifications", "reports",
        "resolve", "bans", "ban", "unban",
    }  # fmt: skip
    assert wanted <= set(COMMANDS)


def test_send_goes_to_general_unless_told_otherwise() -> None:
    args = parse("send", "hello", "there")

    assert (args.to, args.chat, args.text) == (None, None, ["hello", "there"])


def test_send_takes_a_user_or_a_chat_but_not_both(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse("send", "--to", "bob", "--chat", "General", "hi")

    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_global_options_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHOPCHOP_GATEWAY", "http://chat.example:9000/")
    monkeypatch.setenv("CHOPCHOP_CHAT_HOME", "/somewhere")

    args = parse("chats")

    assert (args.gateway, args.home) == ("http://chat.example:9000", "/somewhere")


def test_an_option_after_the_command_wins_over_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHOPCHOP_GATEWAY", "http://chat.example:9000")

    args = parse("chats", "--gateway", "http://127.0.0.1:1")

    assert args.gateway == "http://127.0.0.1:1"


def test_the_defaults_suit_a_local_make_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHOPCHOP_GATEWAY", raising=False)
    monkeypatch.delenv("CHOPCHOP_CHAT_HOME", raising=False)

    args = parse("chats")

    assert (args.gateway, args.home) == ("http://127.0.0.1:8080", "~/.config/chopchop-chat")


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        # not a URL the client can call
        (("--gateway", "localhost:8080", "chats"), "is not an http:// or https:// address"),
        # a limit of nothing
        (("history", "--limit", "0"), "is not a positive whole number"),
        # a file that is not there
        (("upload", "/no/such/file"), "is not a file"),
        # schedule needs a time
        (("schedule", "later"), "one of the arguments --at --in is required"),
        (("schedule", "--in", "-5", "x"), "is not a positive number of seconds"),
    ],
)
def test_a_bad_command_line_is_refused_with_the_reason(
    args: tuple[str, ...], complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        parse(*args)

    assert exited.value.code == 2
    assert complaint in capsys.readouterr().err


def test_no_command_prints_the_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run([]) == 2
    assert "usage: chopchop-chat" in capsys.readouterr().err


def test_a_command_without_a_session_says_to_log_in(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.run(["--home", str(tmp_path), "--gateway", "http://127.0.0.1:1", "chats"])

    assert code == 4
    assert capsys.readouterr().err == (
        "chopchop-chat: you are not logged in; run `chopchop-chat login EMAIL` or "
        "`register` first\n"
    )


def test_a_password_is_taken_from_the_environment_before_any_prompt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHOPCHOP_PASSWORD", "from env")
    args = parse("login", "alice@example.com")

    cli.ask_password(args)

    assert args.password == "from env"


def test_a_password_given_as_an_option_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHOPCHOP_PASSWORD", "from env")
    args = parse("login", "alice@example.com", "--password", "typed")

    cli.ask_password(args)

    assert args.password == "typed"


def test_an_empty_prompt_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHOPCHOP_PASSWORD", raising=False)
    monkeypatch.setattr("getpass.getpass", lambda prompt: "")

    with pytest.raises(ClientError, match="no password given"):
        cli.ask_password(parse("login", "alice@example.com"))


NOW = datetime(2030, 1, 31, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("at", "in_seconds", "expected"),
    [
        # a delay from now
        (None, 90.0, "2030-01-31T12:01:30.000Z"),
        # a time with its zone, turned into UTC
        ("2030-01-31T18:30+02:00", None, "2030-01-31T16:30:00.000Z"),
        ("2030-02-01T00:00:00Z", None, "2030-02-01T00:00:00.000Z"),
    ],
)
def test_send_at_is_given_to_the_api_in_utc(
    at: str | None, in_seconds: float | None, expected: str
) -> None:
    args = argparse.Namespace(at=at, in_seconds=in_seconds)

    assert send_at(args, now=NOW) == expected


def test_a_time_without_a_zone_is_local_time() -> None:
    local = datetime(2030, 6, 1, 9, 15).astimezone()
    args = argparse.Namespace(at="2030-06-01T09:15", in_seconds=None)

    sent = send_at(args, now=NOW)

    assert datetime.fromisoformat(sent) == local


def test_a_time_that_is_not_iso_is_refused_by_name() -> None:
    args = argparse.Namespace(at="tomorrow", in_seconds=None)

    with pytest.raises(ClientError, match="'tomorrow' is not an ISO time"):
        send_at(args, now=NOW)


@pytest.mark.parametrize(
    ("messages", "retry_after", "text"),
    [
        # the server's sentences, joined
        (["title is too long", "body is empty"], None, "title is too long; body is empty"),
        # Retry-After added when the sentence does not say when
        (["slow down"], "30", "slow down (try again in 30 s)"),
        # and not repeated when it does
        (["try again in 30 s"], "30", "try again in 30 s"),
        (["you may ask again in 30 s"], "30", "you may ask again in 30 s"),
        # a sentence that names a time whose digits hold the seconds still gets them
        (
            ["the period ending at 06:00 is full"],
            "6",
            "the period ending at 06:00 is full (try again in 6 s)",
        ),
    ],
)
def test_an_api_error_reads_as_the_servers_sentences(
    messages: list[str], retry_after: str | None, text: str
) -> None:
    assert ApiError(429, messages, retry_after).message == text


def test_a_server_failure_exits_as_unreachable_and_a_refusal_as_failed() -> None:
    assert ApiError(503, ["chat is unavailable"]).exit_code == 3
    assert ApiError(404, ["user nobody not found"]).exit_code == 1


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["group"], "the following arguments are required: ACTION"),
        (["ban", "bob", "spam"], "the following arguments are required: --for"),
        (
            ["ban", "bob", "--for", "soon", "spam"],
            "'soon' is not a duration like 90, 30m, 4h or 2d",
        ),
        (["resolve", "3", "forget"], "invalid choice: 'forget'"),
        (["reply", "General", "x", "hi"], "'x' is not a positive whole number"),
    ],
)
def test_a_bad_command_line_is_exit_status_2_with_a_reason(
    argv: list[str], error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        parse(*argv)

    assert exited.value.code == 2
    assert error in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("30m", 1800), ("4h", 14400), ("2d", 172800)]
)
def test_durations_are_read_as_people_write_them(text: str, seconds: int) -> None:
    assert seconds_of(text) == seconds


@pytest.mark.parametrize(
    ("given", "code"),
    [
        ("abc123", "abc123"),
        ("http://chop.example/join/abc123", "abc123"),
        ("http://chop.example/api/chats/join/abc123", "abc123"),
    ],
)
def test_an_invite_is_its_code_or_its_whole_link(given: str, code: str) -> None:
    assert invite_code(given) == code
