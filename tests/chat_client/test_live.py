"""`watch` against the real stack: messages arrive live, and a lost connection catches up."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
from collections.abc import AsyncIterator, Iterator

import pytest
from yarl import URL

from tests.chat_client.conftest import LIVE, ChatUser, MakeUser


class Cutter:
    """A TCP relay in front of the gateway whose connections can be cut and refused, as a
    flaky network or a restarting gateway would."""

    def __init__(self, target: str) -> None:
        url = URL(target)
        self.host, self.port = url.host or "127.0.0.1", url.port or 80
        self.refusing = False
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def cut(self) -> None:
        """Drops every open connection and refuses new ones until `restore`."""
        self.refusing = True
        for writer in list(self._writers):
            writer.close()

    def restore(self) -> None:
        self.refusing = False

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refusing:
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection(self.host, self.port)
        self._writers.update({writer, up_writer})
        legs = [
            asyncio.create_task(self._pipe(reader, up_writer)),
            asyncio.create_task(self._pipe(up_reader, writer)),
        ]
        self._tasks.update(legs)
        for leg in legs:
            leg.add_done_callback(self._tasks.discard)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(65536):
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()


@pytest.fixture
async def cutter(alice: ChatUser) -> AsyncIterator[Cutter]:
    relay = Cutter(alice.gateway)
    try:
        yield relay
    finally:
        await relay.close()


async def test_a_message_sent_by_one_user_shows_up_live_in_the_watch_of_another(
    alice: ChatUser, bob: ChatUser
) -> None:
    await alice.ok("send", "good", "morning")
    watch = await bob.start("watch")
    # What was said before the watch began comes first, then the live marker.
    await watch.wait_for("alice: good morning")
    await watch.wait_for(LIVE)

    await alice.ok("send", "is anyone here?")
    line = await watch.wait_for("alice: is anyone here?")

    assert re.fullmatch(r"#\d+ \d\d:\d\d alice: is anyone here\?", line)
    stopped = await watch.interrupt()
    # Ctrl-C ends it as shells expect (130), without a traceback.
    assert (stopped.code, stopped.err.strip()) == (130, "")


@pytest.fixture
def run_ignoring_ctrl_c() -> Iterator[None]:
    """This test run as a background job of a non-interactive shell has it: SIGINT ignored."""
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


@pytest.mark.usefixtures("run_ignoring_ctrl_c")
async def test_ctrl_c_ends_watch_however_the_test_run_was_started(bob: ChatUser) -> None:
    watch = await bob.start("watch")
    await watch.wait_for(LIVE)

    stopped = await watch.interrupt()

    assert (stopped.code, stopped.err.strip()) == (130, "")


async def test_watch_all_labels_a_direct_message_with_its_chat(
    alice: ChatUser, bob: ChatUser
) -> None:
    watch = await bob.start("watch", "--all")
    await watch.wait_for(LIVE)

    # The direct chat did not exist when the watch began: it is looked up by its id.
    await alice.ok("send", "--to", "bob", "just between us")

    line = await watch.wait_for("just between us")
    assert re.fullmatch(r"\[alice\] #\d+ \d\d:\d\d alice: just between us", line)


async def test_watch_catches_up_on_what_was_sent_while_its_connection_was_down(
    alice: ChatUser, make_user: MakeUser, cutter: Cutter
) -> None:
    bob = make_user("bob", gateway=await cutter.start())
    await bob.register()
    watch = await bob.start("watch")
    await watch.wait_for(LIVE)
    await alice.ok("send", "before the cut")
    await watch.wait_for("alice: before the cut")

    cutter.cut()
    await watch.wait_for("reconnecting")
    await alice.ok("send", "while away 1")
    await alice.ok("send", "while away 2")
    cutter.restore()

    await watch.wait_for("-- reconnected --")
    # Replayed by `resume` from the last seq seen, in order.
    first = await watch.wait_for("alice: while away")
    second = await watch.wait_for("alice: while away")
    assert (first[-1], second[-1]) == ("1", "2")
    await alice.ok("send", "after the cut")
    await watch.wait_for("alice: after the cut")
    stopped = await watch.interrupt()
    assert stopped.code == 130
    # Nothing is shown twice.
    everything = watch.seen + stopped.lines
    assert sum("before the cut" in line for line in everything) == 1
    assert sum("while away" in line for line in everything) == 2


async def test_what_watch_shows_is_not_missed_even_while_it_runs(
    alice: ChatUser, bob: ChatUser
) -> None:
    watch = await bob.start("watch", "--all")
    await watch.wait_for(LIVE)
    await alice.ok("send", "--to", "bob", "seen live")
    await watch.wait_for("alice: seen live")

    # Recorded as soon as it was shown, not when the watch ends or the next event comes.
    missed = await bob.ok("missed")
    assert missed.lines == [
        "alice: 1 unread",
        "  (1 shown before; `missed --all` repeats them)",
    ]
    # Bob's own arrival in the new direct chat is no news to bob.
    stopped = await watch.interrupt()
    assert not [line for line in watch.seen + stopped.lines if "bob joined" in line]


async def test_presence_is_one_labelled_line_per_change(
    alice: ChatUser, bob: ChatUser, make_user: MakeUser
) -> None:
    for title in ("Soup", "Bread"):
        await alice.ok("group", "create", title)
        await alice.ok("members", "add", title, "bob")
    watch = await alice.start("watch", "--all", "-v")
    await watch.wait_for(LIVE)

    # Bob shares two chats with alice: each announces him, one line says it.
    bobs = await bob.start("watch")
    await bobs.wait_for(LIVE)
    line = await watch.wait_for("bob is online")
    assert re.fullmatch(r"\[(Soup|Bread)\] \* bob is online", line)
    bobs.process.send_signal(2)
    await bobs.process.wait()
    await watch.wait_for("bob is offline")
    stopped = await watch.interrupt()
    everything = watch.seen + stopped.lines
    assert sum("bob is online" in line for line in everything) == 1
    assert sum("bob is offline" in line for line in everything) == 1
