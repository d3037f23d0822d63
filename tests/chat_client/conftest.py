"""The client as people run it: one subprocess per command, each person with a home folder of
their own, against the whole stack started as processes (tests/e2e)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.stack import Stack

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "password1"
# Generous for a loaded CI machine; a passing test waits far less.
COMMAND_TIMEOUT = 30.0
LINE_TIMEOUT = 20.0
LIVE = "live; Ctrl-C to stop --"


def as_at_a_terminal() -> None:
    """Ctrl-C reaches a command started at a terminal. A test run started in the background
    of a non-interactive shell (`make test &`, as CI runners often do) ignores SIGINT, and an
    ignored signal is inherited across exec: the client would never see `interrupt()`."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()


class Running:
    """A command that goes on (`watch`): its output is read line by line as it comes."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.seen: list[str] = []

    async def wait_for(self, text: str, timeout: float = LINE_TIMEOUT) -> str:
        """The first line from now on that contains `text`."""
        assert self.process.stdout is not None

        async def read() -> str:
            assert self.process.stdout is not None
            while True:
                raw = await self.process.stdout.readline()
                if not raw:
                    err = await self._stderr()
                    raise AssertionError(f"exited before {text!r}: {self.seen}\n{err}")
                line = raw.decode().rstrip("\n")
                self.seen.append(line)
                if text in line:
                    return line

        try:
            return await asyncio.wait_for(read(), timeout)
        except TimeoutError:
            raise AssertionError(f"no line with {text!r} in {timeout} s: {self.seen}") from None

    async def interrupt(self) -> Result:
        """Ctrl-C, as a terminal sends it; the rest of the output and the exit status."""
        self.process.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(self.process.communicate(), COMMAND_TIMEOUT)
        assert self.process.returncode is not None
        return Result(self.process.returncode, out.decode(), err.decode())

    async def _stderr(self) -> str:
        assert self.process.stderr is not None
        with contextlib.suppress(TimeoutError):
            return (await asyncio.wait_for(self.process.stderr.read(), 5)).decode()
        return ""

    def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()


class ChatUser:
    """One person at one terminal."""

    def __init__(self, name: str, gateway: str, home: Path, started: list[Running]) -> None:
        self.name = name
        self.email = f"{name}@example.com"
        self.gateway = gateway
        self.home = home
        self._started = started

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHOPCHOP_")}
        return {
            **env,
            "PYTHONPATH": str(ROOT),
            "CHOPCHOP_GATEWAY": self.gateway,
            "CHOPCHOP_CHAT_HOME": str(self.home),
            **extra,
        }

    def command(self, args: tuple[str, ...]) -> list[str]:
        # Warnings become errors in the client too, as they do in these tests.
        return [sys.executable, "-W", "error", "-m", "chat_client", *args]

    async def run(self, *args: str, stdin: str | None = None, **env: str) -> Result:
        process = await self._spawn(args, asyncio.subprocess.PIPE, **env)
        try:
            out, err = await asyncio.wait_for(
                process.communicate(stdin.encode() if stdin is not None else b""),
                COMMAND_TIMEOUT,
            )
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert process.returncode is not None
        return Result(process.returncode, out.decode(), err.decode())

    async def ok(self, *args: str, stdin: str | None = None) -> Result:
        """A command that must succeed quietly on stderr."""
        result = await self.run(*args, stdin=stdin)
        assert (result.code, result.err) == (0, ""), result
        return result

    async def start(self, *args: str) -> Running:
        process = await self._spawn(args, asyncio.subprocess.DEVNULL)
        running = Running(process)
        self._started.append(running)
        return running

    async def _spawn(
        self, args: tuple[str, ...], stdin: int, **env: str
    ) -> asyncio.subprocess.Process:
        self.home.mkdir(parents=True, exist_ok=True)
        return await asyncio.create_subprocess_exec(
            *self.command(args),
            cwd=self.home,
            env=self.env(**env),
            stdin=stdin,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            preexec_fn=as_at_a_terminal,
        )

    async def register(self) -> None:
        result = await self.run("register", self.name, self.email, CHOPCHOP_PASSWORD=PASSWORD)
        assert result.code == 0, result
        assert result.out == f"registered and logged in as {self.name}\n"

    @property
    def session_file(self) -> Path:
        return self.home / "session.json"

    def session(self) -> dict[str, Any]:
        return dict(json.loads(self.session_file.read_text()))

    def edit_session(self, **changes: Any) -> None:
        self.session_file.write_text(json.dumps({**self.session(), **changes}))


MakeUser = Callable[..., ChatUser]


@pytest.fixture
async def make_user(
    running_stack: Stack,
    tmp_path: Path,
) -> AsyncIterator[MakeUser]:
    """`make_user("alice")`: a person with a fresh home, not registered yet."""
    started: list[Running] = []

    def make(name: str, gateway: str | None = None) -> ChatUser:
        return ChatUser(name, gateway or running_stack.url, tmp_path / name, started)

    try:
        yield make
    finally:
        for running in started:
            running.kill()
            await running.process.wait()


@pytest.fixture
async def alice(make_user: MakeUser) -> ChatUser:
    user = make_user("alice")
    await user.register()
    return user


@pytest.fixture
async def bob(make_user: MakeUser) -> ChatUser:
    user = make_user("bob")
    await user.register()
    return user
