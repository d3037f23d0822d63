"""The command line: global options, one argparse subcommand per action, and the one place
that turns every failure into a sentence and an exit status instead of a traceback."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import io
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from yarl import URL

from chat_client import commands
from chat_client.api import ChatApi
from chat_client.commands import Context
from chat_client.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, ClientError
from chat_client.render import Renderer
from chat_client.state import SessionStore

PROG = "chopchop-chat"
DEFAULT_GATEWAY = "http://127.0.0.1:8080"
DEFAULT_HOME = "~/.config/chopchop-chat"
PASSWORD_ENV = "CHOPCHOP_PASSWORD"  # noqa: S105 - the name of a variable, not a password

Handler = Callable[[Context, ChatApi, argparse.Namespace], Awaitable[None]]

EPILOG = f"""\
examples:
  {PROG} register alice alice@example.com
  {PROG} watch                      # the general chat, live
  {PROG} send hello everyone
  {PROG} send --to bob see you at 8
  {PROG} upload photo.jpg --chat bob --text "the cake"
  {PROG} missed

environment:
  CHOPCHOP_GATEWAY    the gateway's address (default {DEFAULT_GATEWAY})
  CHOPCHOP_CHAT_HOME  where the session is kept (default {DEFAULT_HOME})
  {PASSWORD_ENV}   the password for register and login, instead of a prompt

exit status: 0 done, 1 refused or failed, 2 bad command line, 3 gateway unreachable,
4 log in again, 130 interrupted."""


def gateway_url(value: str) -> str:
    url = URL(value)
    if url.scheme not in ("http", "https") or not url.host:
        raise argparse.ArgumentTypeError(f"{value!r} is not an http:// or https:// address")
    return value.rstrip("/")


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive whole number")
    return number


def existing_file(value: str) -> Path:
    path = Path(value).expanduser()
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{value!r} is not a file")
    return path


def output_path(value: str) -> Path:
    return Path(value).expanduser()


def positive_seconds(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = 0.0
    if not number > 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive number of seconds")
    return number


def global_options(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    """--gateway and --home, given before or after the command; only the top level holds
    the defaults, so that a subcommand's absent option does not hide the top-level one."""
    gateway = os.environ.get("CHOPCHOP_GATEWAY") or DEFAULT_GATEWAY
    home = os.environ.get("CHOPCHOP_CHAT_HOME") or DEFAULT_HOME
    parser.add_argument(
        "--gateway",
        type=gateway_url,
        default=gateway if defaults else argparse.SUPPRESS,
        help=f"the gateway's address (env CHOPCHOP_GATEWAY, default {DEFAULT_GATEWAY})",
    )
    parser.add_argument(
        "--home",
        default=home if defaults else argparse.SUPPRESS,
        help=f"folder of the saved session (env CHOPCHOP_CHAT_HOME, default {DEFAULT_HOME})",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="The Chop-chop chat in a terminal, through the public API of the gateway.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    global_options(parser, defaults=True)
    shared = argparse.ArgumentParser(add_help=False)
    global_options(shared, defaults=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, handler: Handler, summary: str) -> argparse.ArgumentParser:
        description = summary[:1].upper() + summary[1:] + "."
        child = sub.add_parser(name, help=summary, description=description, parents=[shared])
        child.set_defaults(handler=handler)
        return child

    def password(child: argparse.ArgumentParser) -> None:
        child.add_argument(
            "--password",
            help=f"the password (else env {PASSWORD_ENV}, else a prompt); "
            "visible to other users of this machine, so prefer the prompt",
        )

    def destination(child: argparse.ArgumentParser) -> None:
        where = child.add_mutually_exclusive_group()
        where.add_argument("--to", metavar="USER", help="a direct chat with USER (opened if new)")
        where.add_argument("--chat", metavar="CHAT", help="a chat by title or id")

    child = command("register", commands.register, "create an account and log in")
    child.add_argument("username")
    child.add_argument("email")
    password(child)

    child = command("login", commands.login, "log in and save the session")
    child.add_argument("email")
    password(child)

    command("logout", commands.logout, "end the session here and at the gateway")
    command("whoami", commands.whoami, "show who is logged in")
    command("chats", commands.chats, "list my chats with their unread counts")

    child = command("history", commands.history, "show the last messages of a chat")
    child.add_argument("chat", nargs="?", metavar="CHAT", help="title or id (default: General)")
    child.add_argument("--limit", type=positive_int, default=20, help="how many (default 20)")

    child = command("watch", commands.watch, "show the last messages of a chat, then new ones live")
    child.add_argument("chat", nargs="?", metavar="CHAT", help="title or id (default: General)")
    child.add_argument("--all", action="store_true", help="also show new messages of every chat")
    child.add_argument(
        "--limit", type=positive_int, default=20, help="how many to show first (default 20)"
    )
    child.add_argument(
        "-v", "--verbose", action="store_true", help="also show who goes online and who types"
    )

    child = command("send", commands.send, "send a message (to General unless told otherwise)")
    destination(child)
    child.add_argument(
        "--reply-to", type=positive_int, metavar="MESSAGE_ID", help="answer this message"
    )
    child.add_argument("text", nargs="+", metavar="TEXT", help="the message; `-` reads stdin")

    child = command("missed", commands.missed, "show unread messages not shown here before")
    child.add_argument("--all", action="store_true", help="show every unread message")
    child.add_argument("--mark-read", action="store_true", help="then mark them as read")

    child = command("read", commands.read, "mark a chat as read")
    child.add_argument("chat", metavar="CHAT", help="title or id")
    child.add_argument("--seq", type=positive_int, help="up to this seq (default: the last)")

    child = command("upload", commands.upload, "upload a file and send it in a message")
    child.add_argument("path", type=existing_file, metavar="PATH")
    destination(child)
    child.add_argument("--text", help="the message with it (default: the file name)")

    child = command("download", commands.download, "download an attachment")
    child.add_argument(
        "attachment_id", metavar="ATTACHMENT_ID", help="as `upload` and messages show it"
    )
    child.add_argument(
        "-o", "--output", type=output_path, metavar="PATH", help="file or folder (default: here)"
    )
    child.add_argument("--force", action="store_true", help="replace an existing file")

    child = command("schedule", commands.schedule, "schedule a message for later")
    when = child.add_mutually_exclusive_group(required=True)
    when.add_argument("--at", metavar="ISO", help="a time, e.g. 2030-01-31T18:30 (local)")
    when.add_argument("--in", dest="in_seconds", type=positive_seconds, metavar="SECONDS")
    destination(child)
    child.add_argument("text", nargs="+", metavar="TEXT", help="the message; `-` reads stdin")

    child = command("scheduled", commands.scheduled, "list my scheduled messages in a chat")
    child.add_argument("chat", nargs="?", metavar="CHAT", help="title or id (default: General)")

    child = command("cancel", commands.cancel, "cancel a scheduled message")
    child.add_argument("chat", metavar="CHAT", help="title or id")
    child.add_argument("message_id", type=positive_int, metavar="MESSAGE_ID")

    child = command("report", commands.report, "report a user to the moderators")
    child.add_argument("username", metavar="USERNAME")
    child.add_argument("reason", nargs="+", metavar="REASON")
    return parser


def ask_password(args: argparse.Namespace) -> None:
    """Fills in `args.password` before the event loop starts, so a prompt never blocks it."""
    if not hasattr(args, "password") or args.password:
        return
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env:
        args.password = from_env
        return
    try:
        args.password = getpass.getpass("Password: ")
    except EOFError:
        args.password = ""
    if not args.password:
        raise ClientError(f"no password given: type it, or pass --password or {PASSWORD_ENV}")


def console() -> Callable[[str], None]:
    # Flushed line by line: `watch` is read live, often through a pipe.
    def write(line: str) -> None:
        print(line, flush=True)

    return write


async def dispatch(args: argparse.Namespace, store: SessionStore) -> None:
    ctx = Context(gateway=args.gateway, store=store, renderer=Renderer(), write=console())
    async with ChatApi(args.gateway, store) as api:
        await args.handler(ctx, api, args)


def run(argv: Sequence[str]) -> int:
    # A body the terminal cannot encode is shown with replacement marks, not a crash.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="replace")
    parser = build_parser()
    args = parser.parse_args(list(argv))
    if getattr(args, "handler", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        ask_password(args)
        asyncio.run(dispatch(args, SessionStore(Path(args.home).expanduser())))
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return EXIT_INTERRUPTED
    except ClientError as exc:
        print(f"{PROG}: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        # The reader went away (`| head`); say nothing more to it.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    return 0
