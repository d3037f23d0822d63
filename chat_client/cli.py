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
from typing import Any

from yarl import URL

from chat_client import commands, manage
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
  {PROG} group create Bakers --private
  {PROG} invite create Bakers       # a link; `join LINK` asks, `approve` lets in
  {PROG} open Bakers                # interactive: history, live messages, a prompt

messages are named by their #id (as `history` shows them); `read --seq N` names a
position in a chat, counted 1, 2, 3... in each chat.

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

    def command(
        name: str, handler: Handler | None, summary: str, under: Any = None
    ) -> argparse.ArgumentParser:
        description = summary[:1].upper() + summary[1:] + "."
        child = (under or sub).add_parser(
            name, help=summary, description=description, parents=[shared]
        )
        child.set_defaults(handler=handler)
        return child

    def family(name: str, summary: str) -> Any:
        """A command with commands of its own (`group create`, `invite list`...)."""
        parent = command(name, None, summary)
        return parent.add_subparsers(dest="action", metavar="ACTION", required=True)

    def chat_arg(child: argparse.ArgumentParser, help: str = "title or id") -> None:
        child.add_argument("chat", metavar="CHAT", help=help)

    def message_arg(child: argparse.ArgumentParser) -> None:
        chat_arg(child)
        child.add_argument("message_id", type=positive_int, metavar="ID", help="the message's #id")

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
    child.add_argument(
        "--before", type=positive_int, metavar="ID", help="older than message #ID (page back)"
    )

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
    child.add_argument(
        "--seq", type=positive_int, help="up to this position in the chat (default: the last)"
    )

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

    child = command("open", open_chat, "chat interactively: history, live messages, a prompt")
    child.add_argument("chat", nargs="?", metavar="CHAT", help="title or id (default: General)")
    child.add_argument("--to", metavar="USER", help="a direct chat with USER (opened if new)")

    # Messages

    child = command("reply", manage.reply, "answer a message")
    message_arg(child)
    child.add_argument("text", nargs="+", metavar="TEXT", help="the answer; `-` reads stdin")

    child = command("edit", manage.edit, "change the text of a message of mine")
    message_arg(child)
    child.add_argument("text", nargs="+", metavar="TEXT", help="the new text; `-` reads stdin")

    child = command("delete", manage.delete, "delete a message (mine, or any as the owner)")
    message_arg(child)
    child.add_argument("--reason", help="a moderator's reason, told to the author")

    child = command("comment", manage.comment, "comment on a message (its thread)")
    message_arg(child)
    child.add_argument("text", nargs="+", metavar="TEXT", help="the comment; `-` reads stdin")

    child = command("comments", manage.comments, "show the comments on a message")
    message_arg(child)

    # Groups

    group = family("group", "create, show, change or delete a group")
    child = command("create", manage.group_create, "create a group that I own", group)
    child.add_argument("title", metavar="TITLE")
    child.add_argument("--description", help="what the group is about")
    child.add_argument("--private", action="store_true", help="joining by link needs my approval")
    child = command("show", manage.group_show, "show a chat with its members", group)
    chat_arg(child)
    child = command("edit", manage.group_edit, "change a group of mine", group)
    chat_arg(child)
    child.add_argument("--title")
    child.add_argument("--description")
    privacy = child.add_mutually_exclusive_group()
    privacy.add_argument("--private", dest="private", action="store_true", default=None)
    privacy.add_argument("--public", dest="private", action="store_false")
    expiry = child.add_mutually_exclusive_group()
    expiry.add_argument(
        "--expire",
        type=manage.seconds_of,
        metavar="DURATION",
        help="messages expire after this long (90, 30m, 4h, 2d)",
    )
    expiry.add_argument(
        "--keep", dest="expire", action="store_const", const=0, help="messages never expire"
    )
    child = command("delete", manage.group_delete, "delete a group of mine for everyone", group)
    chat_arg(child)
    child.add_argument("--yes", action="store_true", help="yes, delete it with its messages")

    members = family("members", "list, add or remove the members of a group")
    child = command("list", manage.members_list, "list the members and who is online", members)
    chat_arg(child)
    child = command("add", manage.members_add, "add people to a group of mine", members)
    chat_arg(child)
    child.add_argument("usernames", nargs="+", metavar="USER")
    child = command("remove", manage.members_remove, "remove someone from my group", members)
    chat_arg(child)
    child.add_argument("username", metavar="USER")

    child = command("leave", manage.leave, "leave a group")
    chat_arg(child)

    invite = family("invite", "create, list or revoke invite links to a group")
    child = command("create", manage.invite_create, "create an invite link", invite)
    chat_arg(child)
    child.add_argument(
        "--expires",
        type=manage.seconds_of,
        metavar="DURATION",
        help="valid for this long (at least 60 s; default: the server's)",
    )
    child = command("list", manage.invite_list, "list the active invite links", invite)
    chat_arg(child)
    child = command("revoke", manage.invite_revoke, "revoke an invite link", invite)
    chat_arg(child)
    child.add_argument("code", metavar="CODE", help="the code or the whole link")

    child = command("join", manage.join, "join a group by an invite link or its code")
    child.add_argument("code", metavar="CODE|URL")

    requests = family("requests", "the requests to join a private group of mine")
    child = command("list", manage.requests_list, "list the pending requests", requests)
    chat_arg(child)
    for decision, summary in (("approve", "let someone in"), ("reject", "turn someone away")):
        child = command(decision, manage.decide, f"{summary} who asked to join my group")
        chat_arg(child)
        child.add_argument("request", metavar="REQUEST", help="the request's number or the user")
        child.set_defaults(decision=decision)

    # Me

    command("status", manage.status, "my send budget, bans, connected devices and unread chats")
    child = command("notifications", manage.notifications, "my notifications, newest first")
    child.add_argument("--limit", type=positive_int, default=20, help="how many (default 20)")
    child.add_argument("--before", type=positive_int, metavar="ID", help="older than this one")
    child.add_argument(
        "--types", metavar="TYPE,...", help="only these (e.g. mentioned,chat.invited)"
    )
    child.add_argument("--mark-read", action="store_true", help="then mark those shown as read")

    # Moderators

    child = command("reports", manage.reports, "moderators: the reports, newest first")
    child.add_argument("--status", choices=["open", "resolved"], help="only these")
    child.add_argument("--limit", type=positive_int, default=20, help="how many (default 20)")
    child = command("resolve", manage.resolve, "moderators: dismiss or uphold a report")
    child.add_argument("report_id", type=positive_int, metavar="REPORT")
    child.add_argument("action", choices=["dismiss", "uphold"])
    child.add_argument("note", nargs="*", metavar="NOTE", help="why (optional)")
    command("bans", manage.bans, "moderators: the active bans")
    child = command("ban", manage.ban, "moderators: stop a user from writing to chats")
    child.add_argument("username", metavar="USER")
    child.add_argument(
        "--for",
        dest="duration",
        type=manage.seconds_of,
        required=True,
        metavar="DURATION",
        help="how long: 90, 30m, 4h, 2d",
    )
    child.add_argument("reason", nargs="+", metavar="REASON")
    child = command("unban", manage.unban, "moderators: lift a ban")
    child.add_argument("username", metavar="USER")
    return parser


async def open_chat(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    from chat_client.interactive import run_interactive

    await run_interactive(ctx, api, args)


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
        print(f"{PROG}: {Renderer().local_times(exc.message)}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        # The reader went away (`| head`); say nothing more to it.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    return 0
