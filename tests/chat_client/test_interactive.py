"""`open CHAT` in a pseudo-terminal of 80x24, as a person uses it: two people exchange
messages, see each other type, and use /commands; the text on the screen is checked."""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
import time
from collections.abc import Callable, Iterator

import pexpect
import pyte
import pytest

from tests.chat_client.conftest import ChatUser

TIMEOUT = 30.0
ROWS, COLUMNS = 24, 80


class AnsweringScreen(pyte.Screen):
    answer: Callable[[str], object] = staticmethod(lambda _: None)

    def write_process_input(self, data: str) -> None:
        self.answer(data)


class Terminal:
    """The program in a pseudo-terminal, its output drawn by a terminal emulator (pyte):
    what the tests read is the screen a person would see."""

    def __init__(self, user: ChatUser, *args: str) -> None:
        env = user.env()
        env["TERM"] = "xterm"
        self.child = pexpect.spawn(
            sys.executable,
            ["-W", "error", "-m", "chat_client", *args],
            cwd=str(user.home),
            env=env,
            dimensions=(ROWS, COLUMNS),
            encoding="utf-8",
        )
        self.screen = AnsweringScreen(COLUMNS, ROWS)
        # The terminal answers the program's questions (where is the cursor?) as one does.
        self.screen.answer = self.child.send
        self.stream = pyte.Stream(self.screen)

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    async def wait_for(self, text: str, timeout: float = TIMEOUT) -> None:
        """Reads what the program draws until `text` is on the screen."""

        def read() -> None:
            deadline = time.monotonic() + timeout
            while text not in self.text():
                if time.monotonic() > deadline:
                    raise AssertionError(f"{text!r} is not on the screen:\n{self.text()}")
                with contextlib.suppress(pexpect.TIMEOUT):
                    self.stream.feed(self.child.read_nonblocking(4096, timeout=0.5))

        await asyncio.to_thread(read)

    async def wait_for_prompt(self, prompt: str) -> None:
        """Until the cursor stands on an empty prompt: the program reads keys again (a key
        typed between two prompts would reach a terminal that is not in raw mode)."""

        def ready() -> bool:
            return self.screen.display[self.screen.cursor.y].rstrip() == prompt.rstrip()

        def read() -> None:
            deadline = time.monotonic() + TIMEOUT
            while not ready():
                if time.monotonic() > deadline:
                    raise AssertionError(f"no empty prompt {prompt!r}:\n{self.text()}")
                with contextlib.suppress(pexpect.TIMEOUT):
                    self.stream.feed(self.child.read_nonblocking(4096, timeout=0.5))

        await asyncio.to_thread(read)

    async def type(self, line: str, enter: bool = True) -> None:
        await asyncio.to_thread(self.child.send, line + ("\r" if enter else ""))

    def close(self) -> None:
        self.child.close(force=True)


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    opened: list[Terminal] = []
    yield opened
    for terminal in opened:
        terminal.close()


async def test_two_people_chat_in_their_terminals(
    alice: ChatUser, bob: ChatUser, terminals: list[Terminal]
) -> None:
    await alice.ok("group", "create", "Kitchen")
    await alice.ok("members", "add", "Kitchen", "bob")
    await alice.ok("send", "--chat", "Kitchen", "the oven is hot")
    alices = Terminal(alice, "open", "Kitchen")
    bobs = Terminal(bob, "open", "Kitchen")
    terminals += [alices, bobs]
    # The history first, then the live marker and the prompt.
    await bobs.wait_for("alice: the oven is hot")
    await bobs.wait_for("/help for commands, Ctrl-D to leave")
    await alices.wait_for("Kitchen>")

    await alices.type("bread goes in at noon", enter=False)
    await bobs.wait_for("alice is typing...")
    await alices.type("")
    await bobs.wait_for("alice: bread goes in at noon")
    await alices.wait_for("alice: bread goes in at noon")
    found = re.search(r"#(\d+) \d\d:\d\d alice: bread goes in at noon", bobs.text())
    assert found, bobs.text()

    await bobs.type(f"/reply {found.group(1)} I will bring butter")
    await alices.wait_for(f"bob: (re #{found.group(1)}) I will bring butter")
    await bobs.type(f"/comment {found.group(1)} salted")
    await bobs.wait_for(f"* commented on message #{found.group(1)}")
    await alices.wait_for(f"bob commented on #{found.group(1)}: salted")
    await alices.type(f"/comments {found.group(1)}")
    await alices.wait_for(f"* message #{found.group(1)}: 1 comment")
    assert re.search(r"\d\d:\d\d bob: salted", alices.text()), alices.text()
    await bobs.type("/nonsense")
    await bobs.wait_for("! there is no /nonsense; /help lists the commands")
    await bobs.type("/members")
    await bobs.wait_for("alice (owner), online")

    # What bob's screen showed is read: no unread left for him in the chat.
    await asyncio.sleep(0)
    for _ in range(20):
        chats = await bob.ok("chats")
        if re.search(r"Kitchen\s+group\s+-", chats.out):
            break
        await asyncio.sleep(0.5)
    assert re.search(r"Kitchen\s+group\s+-", chats.out), chats.out

    await bobs.wait_for_prompt("Kitchen>")
    await bobs.type("/quit")
    await bobs.wait_for("left Kitchen")
    await asyncio.to_thread(bobs.child.expect, pexpect.EOF)
    bobs.child.close()
    assert bobs.child.exitstatus == 0


async def test_a_failure_inside_the_session_is_a_line_not_an_exit(
    alice: ChatUser, terminals: list[Terminal]
) -> None:
    terminal = Terminal(alice, "open")
    terminals.append(terminal)
    await terminal.wait_for("General>")
    await terminal.type("/edit 999999 nothing")
    await terminal.wait_for("! ")
    await terminal.type("/reply x")
    await terminal.wait_for("! usage: /reply ID TEXT")
    await terminal.type("still here")
    await terminal.wait_for("alice: still here")
    await terminal.wait_for_prompt("General>")
    await asyncio.to_thread(terminal.child.sendcontrol, "d")
    await asyncio.to_thread(terminal.child.expect, pexpect.EOF)
