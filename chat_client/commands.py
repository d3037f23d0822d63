"""What each subcommand does: call the API, print readable lines, remember what was seen."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from chat_client.api import ChatApi
from chat_client.errors import ApiError, ClientError, GatewayUnreachable, not_found_as
from chat_client.models import Message, chat_title
from chat_client.render import Renderer, format_size
from chat_client.state import SessionStore
from chat_client.targets import GENERAL, find_chat, pick_chat, resolve_target
from chat_client.watch import Watcher

T = TypeVar("T")


@dataclass
class Context:
    gateway: str
    store: SessionStore
    renderer: Renderer
    write: Callable[[str], None]


def message_text(words: list[str]) -> str:
    """The words of the command line, or standard input for a lone `-`."""
    text = sys.stdin.read() if words == ["-"] else " ".join(words)
    text = text.strip()
    if not text:
        raise ClientError("there is nothing to send")
    return text


def highest_seqs(messages: list[Message]) -> dict[int, int]:
    seqs: dict[int, int] = {}
    for message in messages:
        seq = message.get("seq")
        if seq is not None and seq > seqs.get(message["chatId"], 0):
            seqs[message["chatId"]] = seq
    return seqs


def send_at(args: argparse.Namespace, now: datetime | None = None) -> str:
    """`--at ISO` (local time when it names no zone) or `--in SECONDS`, as the API's UTC."""
    now = now or datetime.now(UTC)
    if args.at is not None:
        try:
            moment = datetime.fromisoformat(args.at)
        except ValueError as exc:
            raise ClientError(f"--at {args.at!r} is not an ISO time like 2030-01-31T18:30") from exc
        moment = moment.astimezone(UTC)  # a naive time is taken as local time
    else:
        moment = now + timedelta(seconds=args.in_seconds)
    if moment <= now:
        # The server would deliver a past time at once, which is not what "schedule" means.
        raise ClientError("the time to send at has already passed")
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def write_list(ctx: Context, items: Sequence[T], line: Callable[[T], str], none: str) -> None:
    """Each item on a line of its own, or the sentence `none` when there are none."""
    if not items:
        ctx.write(none)
    for item in items:
        ctx.write(line(item))


@contextlib.asynccontextmanager
async def on_message(
    ctx: Context,
    api: ChatApi,
    args: argparse.Namespace,
    *,
    done: str | None = None,
    missing: str = "",
    what: str = "message",
) -> AsyncIterator[int]:
    """The id of the chat `args.chat`, for a call about its message `args.message_id` made
    inside: the call's 404 is said as "no <what> #id in <chat><missing>", and its success,
    when `done` is given, as "<done> <what> #id in <chat>"."""
    chat = await find_chat(api, args.chat)
    named = f"{what} #{args.message_id} in {chat_title(chat)}"
    with not_found_as(f"no {named}{missing}"):
        yield chat["id"]
    if done is not None:
        ctx.write(f"{done} {named}")


# Users and authentication


async def register(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    session = await api.register(args.username, args.email, args.password)
    ctx.write(f"registered and logged in as {session.username}")


async def login(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    session = await api.login(args.email, args.password)
    ctx.write(f"logged in as {session.username}")


async def logout(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    if api.session is None:
        ctx.write("you were not logged in")
        return
    try:
        await api.logout()
    except (GatewayUnreachable, ApiError) as exc:
        # Forget the session here anyway: the user asked to be signed out of this machine.
        ctx.store.delete()
        raise ClientError(
            f"logged out here, but the gateway could not revoke the session: {exc.message}"
        ) from exc
    ctx.store.delete()
    ctx.write(f"logged out {api.session.username}")


async def whoami(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    session = api.require_session()
    ctx.write(f"{session.username} (session saved in {ctx.store.path})")


# Chats and messages


async def chats(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    for line in ctx.renderer.chats(await api.list_chats()):
        ctx.write(line)


async def history(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    chat = await find_chat(api, args.chat)
    messages = await api.messages(chat["id"], limit=args.limit, before=args.before)
    if not messages:
        earlier = f" before #{args.before}" if args.before else " yet"
        ctx.write(f"no messages in {chat_title(chat)}{earlier}")
    for line in ctx.renderer.messages(messages):
        ctx.write(line)
    if len(messages) == args.limit:
        ctx.write(f"-- older: chopchop-chat history {chat['id']} --before {messages[0]['id']} --")
    ctx.store.record_seen(highest_seqs(messages))


async def watch(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    api.require_session()
    all_chats = await api.list_chats()
    focus = pick_chat(all_chats, args.chat or GENERAL)
    watcher = Watcher(
        api,
        ctx.renderer,
        ctx.write,
        focus,
        everything=args.all,
        limit=args.limit,
        verbose=args.verbose,
        titles={chat["id"]: chat_title(chat) for chat in all_chats},
    )
    await watcher.run()


async def send(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    text = message_text(args.text)
    chat = await resolve_target(api, to=args.to, chat=args.chat)
    message = await api.send(chat["id"], text, reply_to=args.reply_to)
    ctx.write(f"sent message #{message['id']} to {chat_title(chat)}")


async def missed(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    unread = await api.unread()
    last_seen = api.require_session().last_seen
    if not unread:
        ctx.write("nothing unread")
    for chat in unread:
        after = 0 if args.all else last_seen.get(chat["chatId"], 0)
        shown = [m for m in chat["messages"] if m.get("seq") is None or (m["seq"] or 0) > after]
        for line in ctx.renderer.missed(chat, shown):
            ctx.write(line)
        if args.mark_read and chat["lastSeq"]:
            await api.mark_read(chat["chatId"], chat["lastSeq"])
    ctx.store.record_seen(highest_seqs([m for chat in unread for m in chat["messages"]]))
    if args.mark_read and unread:
        ctx.write("marked as read")


async def read(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    chat = await find_chat(api, args.chat)
    seq = args.seq if args.seq is not None else chat["lastSeq"]
    if not seq:
        ctx.write(f"{chat_title(chat)} has no messages to mark as read")
        return
    marker = await api.mark_read(chat["id"], seq)
    ctx.write(
        f"{chat_title(chat)}: read up to seq {marker.get('seq', seq)}, "
        f"{marker.get('unreadCount', 0)} unread"
    )


# Files


async def upload(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    path: Path = args.path
    api.require_session()
    chat = await resolve_target(api, to=args.to, chat=args.chat)
    attachment = await api.upload(path)
    text = args.text or attachment["filename"]
    message = await api.send(chat["id"], text, attachment_id=attachment["id"])
    ctx.write(
        f"uploaded {attachment['filename']} ({format_size(attachment['size'])}) "
        f"as attachment {attachment['id']} and sent it to {chat_title(chat)} "
        f"in message #{message['id']}"
    )


async def download(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    target = await api.download(args.attachment_id, args.output, force=args.force)
    size = (await asyncio.to_thread(target.stat)).st_size
    ctx.write(f"saved {target} ({format_size(size)})")


# Scheduled messages


async def schedule(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    text = message_text(args.text)
    when = send_at(args)
    chat = await resolve_target(api, to=args.to, chat=args.chat)
    message = await api.send(chat["id"], text, send_at=when)
    if not message.get("scheduled"):
        ctx.write(f"sent message #{message['id']} to {chat_title(chat)} at once")
        return
    ctx.write(
        f"scheduled message #{message['id']} in {chat_title(chat)} for "
        f"{ctx.renderer.time(message.get('sendAt') or when)}; "
        f"cancel it with: chopchop-chat cancel {chat['id']} {message['id']}"
    )


async def scheduled(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    chat = await find_chat(api, args.chat)
    messages = await api.scheduled(chat["id"])
    write_list(
        ctx, messages, ctx.renderer.scheduled, f"no scheduled messages in {chat_title(chat)}"
    )


async def cancel(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    gone = ": it was sent already, cancelled, or is not yours"
    async with on_message(
        ctx, api, args, what="scheduled message", done="cancelled", missing=gone
    ) as chat_id:
        await api.cancel_scheduled(chat_id, args.message_id)


# Moderation


async def report(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    reason = " ".join(args.reason).strip()
    if not reason:
        raise ClientError("say why you report this user")
    await api.report(args.username.lstrip("@"), reason)
    ctx.write(f"reported {args.username.lstrip('@')}; thank you")
