"""`open CHAT`: one chat for a person at a terminal, built on prompt_toolkit.

The chat's history and its live messages are printed above a prompt line that stays at the
bottom (prompt_toolkit's patch_stdout), so the terminal's own scrollback holds the history
and a slow terminal only ever redraws one line. A toolbar under the prompt says who is
typing. What is shown moves the read marker; `/commands` do the rest.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shlex
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from prompt_toolkit import PromptSession
from prompt_toolkit.formatted_text import HTML
from prompt_toolkit.patch_stdout import patch_stdout

from chat_client.api import ChatApi
from chat_client.commands import Context
from chat_client.errors import ClientError, LoginRequired
from chat_client.models import Chat, Message, chat_title
from chat_client.render import Renderer, format_size, plural
from chat_client.targets import find_chat
from chat_client.watch import Watcher

# A typing event is sent at most this often while the person types (the server throttles
# too), and someone else's "is typing" fades after TYPING_SHOWN seconds without news.
TYPING_EVERY = 3.0
TYPING_SHOWN = 6.0
# The read marker follows what was shown, at most this often.
READ_EVERY = 1.0

HELP = """\
commands (other lines are sent; //text sends a line starting with /):
  /reply ID TEXT     answer message #ID       /edit ID TEXT     edit my message
  /delete ID         delete a message         /comment ID TEXT  comment on #ID
  /comments ID       its comments             /more             older messages
  /file PATH [TEXT]  send a file (5 MB max)   /get FILE_ID      download a file
  /in SECONDS TEXT   send later               /scheduled        what I scheduled
  /cancel ID         cancel a scheduled one   /members          who is here
  /status            my budget and bans       /quit             leave (Ctrl-D)"""


class ChatScreen(Watcher):
    """The watcher of one chat that also tells the screen who types and moves the read
    marker as messages are shown."""

    def __init__(
        self, api: ChatApi, renderer: Renderer, focus: Chat, invalidate: Callable[[], None]
    ):
        super().__init__(api, renderer, print, focus, limit=20, verbose=False)
        self.typing: dict[str, float] = {}
        self.stop_hint = "/help for commands, Ctrl-D to leave"
        self.invalidate = invalidate
        self.oldest_id: int | None = None
        self._read_task: asyncio.Task[None] | None = None
        self._marked = 0

    async def _show(self, message: Message) -> bool:
        shown = await super()._show(message)
        if shown:
            if self.oldest_id is None or message["id"] < self.oldest_id:
                self.oldest_id = message["id"]
            author = message.get("author")
            if author:
                self.typing.pop(author["username"], None)
            self._schedule_read()
        return shown

    async def _handle(self, event: dict[str, Any]) -> None:
        data = event.get("data")
        if event.get("type") == "typing" and isinstance(data, dict):
            if data.get("chatId") == self.focus["id"] and data.get("username") != self.me:
                self.typing[str(data.get("username"))] = time.monotonic()
                self.invalidate()
            return
        await super()._handle(event)

    def typing_line(self) -> str:
        now = time.monotonic()
        names = sorted(name for name, at in self.typing.items() if now - at < TYPING_SHOWN)
        if not names:
            return ""
        return f"{', '.join(names)} {'is' if len(names) == 1 else 'are'} typing..."

    def _schedule_read(self) -> None:
        if self._read_task is None or self._read_task.done():
            self._read_task = asyncio.create_task(self._mark_read())

    async def _mark_read(self) -> None:
        await asyncio.sleep(READ_EVERY)
        seq = self.seen.shown_high().get(self.focus["id"], 0)
        if seq > self._marked:
            with contextlib.suppress(ClientError):
                await self.api.mark_read(self.focus["id"], seq)
                self._marked = seq

    async def send_typing(self) -> None:
        if self._ws is not None and not self._ws.closed:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self._ws.send_json({"type": "typing", "chatId": self.focus["id"]})


async def run_interactive(ctx: Context, api: ChatApi, args: argparse.Namespace) -> None:
    api.require_session()
    if args.to:
        chat = await api.open_direct(args.to.lstrip("@"))
    else:
        chat = await find_chat(api, args.chat)
    prompt: PromptSession[str] = PromptSession()
    screen = ChatScreen(api, ctx.renderer, chat, lambda: prompt.app.invalidate())
    commands = Commands(ctx, api, chat, screen)
    last_typing = 0.0

    def on_change(_: object) -> None:
        nonlocal last_typing
        now = time.monotonic()
        if prompt.default_buffer.text.strip() and now - last_typing > TYPING_EVERY:
            last_typing = now
            asyncio.get_running_loop().create_task(screen.send_typing())

    prompt.default_buffer.on_text_changed += on_change

    def toolbar() -> HTML:
        typing = screen.typing_line()
        hint = "/help for commands, Ctrl-D to leave"
        return HTML("<i>{}</i>").format(typing) if typing else HTML("{}").format(hint)

    with patch_stdout(raw=True):
        watching = asyncio.create_task(screen.run())
        try:
            while not watching.done():
                reading = asyncio.create_task(
                    prompt.prompt_async(
                        f"{chat_title(chat)}> ", bottom_toolbar=toolbar, refresh_interval=1.0
                    )
                )
                await asyncio.wait({reading, watching}, return_when=asyncio.FIRST_COMPLETED)
                if watching.done():
                    reading.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await reading
                    break
                try:
                    line = reading.result()
                except (EOFError, KeyboardInterrupt):
                    break
                if not await commands.run(line):
                    break
        finally:
            watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watching
    # A watcher that ended by itself failed: say why, as every command does.
    if watching.done() and not watching.cancelled() and watching.exception() is not None:
        raise watching.exception()  # type: ignore[misc]
    print(f"left {chat_title(chat)}")


class Commands:
    """What a line typed at the prompt does; False ends the session."""

    def __init__(self, ctx: Context, api: ChatApi, chat: Chat, screen: ChatScreen) -> None:
        self.ctx = ctx
        self.api = api
        self.chat = chat
        self.screen = screen
        self.table: dict[str, Callable[[list[str], str], Awaitable[None]]] = {
            "reply": self.reply,
            "edit": self.edit,
            "delete": self.delete,
            "comment": self.comment,
            "comments": self.comments,
            "more": self.more,
            "file": self.file,
            "get": self.get,
            "in": self.later,
            "scheduled": self.scheduled,
            "cancel": self.cancel,
            "members": self.members,
            "status": self.status,
        }

    async def run(self, line: str) -> bool:
        text = line.strip()
        if not text:
            return True
        try:
            if not text.startswith("/") or text.startswith("//"):
                body = text[1:] if text.startswith("//") else text
                await self.api.send(self.chat["id"], body)
                return True
            name, _, rest = text[1:].partition(" ")
            if name in ("quit", "exit", "q"):
                return False
            if name in ("help", "?"):
                print(HELP)
                return True
            action = self.table.get(name)
            if action is None:
                raise ClientError(f"there is no /{name}; /help lists the commands")
            await action(rest.split(), rest.strip())
        except LoginRequired:
            raise
        except ClientError as exc:
            print(f"! {self.ctx.renderer.local_times(exc.message)}")
        return True

    @staticmethod
    def number(words: list[str], usage: str) -> int:
        if not words or not words[0].lstrip("#").isdigit():
            raise ClientError(f"usage: {usage}")
        return int(words[0].lstrip("#"))

    @classmethod
    def number_and_text(cls, words: list[str], rest: str, usage: str) -> tuple[int, str]:
        """`ID TEXT` (or `SECONDS TEXT`): the number, and the text after it, which must not
        be empty."""
        number = cls.number(words, usage)
        parts = rest.split(maxsplit=1)
        if len(parts) < 2:
            raise ClientError(f"usage: {usage}")
        return number, parts[1]

    async def reply(self, words: list[str], rest: str) -> None:
        target, body = self.number_and_text(words, rest, "/reply ID TEXT")
        await self.api.send(self.chat["id"], body, reply_to=target)

    async def edit(self, words: list[str], rest: str) -> None:
        target, body = self.number_and_text(words, rest, "/edit ID TEXT")
        await self.api.edit(self.chat["id"], target, body)
        print(f"* edited message #{target}")

    async def delete(self, words: list[str], rest: str) -> None:
        target = self.number(words, "/delete ID")
        await self.api.delete_message(self.chat["id"], target, None)
        print(f"* deleted message #{target}")

    async def comment(self, words: list[str], rest: str) -> None:
        target, body = self.number_and_text(words, rest, "/comment ID TEXT")
        await self.api.comment(self.chat["id"], target, body)
        print(f"* commented on message #{target}")

    async def comments(self, words: list[str], rest: str) -> None:
        target = self.number(words, "/comments ID")
        found = await self.api.comments(self.chat["id"], target)
        print(f"* message #{target}: {plural(len(found), 'comment')}")
        for comment in found:
            print(self.ctx.renderer.comment(comment))

    async def more(self, words: list[str], rest: str) -> None:
        before = self.screen.oldest_id
        older = await self.api.messages(self.chat["id"], limit=20, before=before)
        if not older:
            print("* nothing older")
            return
        print("-- older messages --")
        for message in older:
            print(self.ctx.renderer.message(message))
        print("-- end of older messages --")
        self.screen.oldest_id = older[0]["id"]

    async def file(self, words: list[str], rest: str) -> None:
        parts = shlex.split(rest) if rest else []
        if not parts:
            raise ClientError("usage: /file PATH [TEXT]")
        path = await asyncio.to_thread(lambda: Path(parts[0]).expanduser())
        if not await asyncio.to_thread(path.is_file):
            raise ClientError(f"{parts[0]!r} is not a file")
        attachment = await self.api.upload(path)
        caption = " ".join(parts[1:]) or attachment["filename"]
        await self.api.send(self.chat["id"], caption, attachment_id=attachment["id"])
        print(f"* sent {attachment['filename']} ({format_size(attachment['size'])})")

    async def get(self, words: list[str], rest: str) -> None:
        if not words:
            raise ClientError("usage: /get FILE_ID")
        target = await self.api.download(words[0], None, force=False)
        print(f"* saved {target}")

    async def later(self, words: list[str], rest: str) -> None:
        seconds, body = self.number_and_text(words, rest, "/in SECONDS TEXT")
        from chat_client.commands import send_at

        when = send_at(argparse.Namespace(at=None, in_seconds=float(seconds)))
        message = await self.api.send(self.chat["id"], body, send_at=when)
        print(
            f"* scheduled message #{message['id']} for "
            f"{self.ctx.renderer.time(message.get('sendAt') or when)}; /cancel {message['id']}"
        )

    async def scheduled(self, words: list[str], rest: str) -> None:
        found = await self.api.scheduled(self.chat["id"])
        if not found:
            print("* no scheduled messages here")
        for message in found:
            print(self.ctx.renderer.scheduled(message))

    async def cancel(self, words: list[str], rest: str) -> None:
        target = self.number(words, "/cancel ID")
        await self.api.cancel_scheduled(self.chat["id"], target)
        print(f"* cancelled scheduled message #{target}")

    async def members(self, words: list[str], rest: str) -> None:
        details: dict[str, Any] = dict(await self.api.chat(self.chat["id"]))
        print(f"* {plural(len(details.get('members') or []), 'member')}:")
        for line in self.ctx.renderer.members(details):
            print(line)

    async def status(self, words: list[str], rest: str) -> None:
        for line in self.ctx.renderer.status(await self.api.status()):
            print(f"* {line}")
