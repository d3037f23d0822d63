"""The saved session: tokens, the user's name and the last message seen per chat, in one file.

The file holds credentials, so it is written 0600 inside a 0700 folder, and always replaced
whole (write a temporary file, then rename) so that a crash never leaves half a session.
Several commands may run at once from one home (a `watch` in one terminal, a `send` in
another); every change re-reads the file under a lock and merges into it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chat_client.errors import ClientError

SESSION_FILE = "session.json"
LOCK_FILE = "session.lock"


class StateError(ClientError):
    """The session file exists but cannot be used."""


@dataclass
class Session:
    username: str
    token: str
    refresh_token: str | None
    # chat id -> the highest message seq this client has shown; `missed` starts after it.
    last_seen: dict[int, int] = field(default_factory=dict)

    def __repr__(self) -> str:
        # Tokens stay out of tracebacks and debug prints.
        return f"Session(username={self.username!r}, last_seen={self.last_seen!r})"

    def to_json(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "token": self.token,
            "refreshToken": self.refresh_token,
            "lastSeen": {str(chat_id): seq for chat_id, seq in sorted(self.last_seen.items())},
        }

    @classmethod
    def from_json(cls, data: Any) -> Session:
        try:
            refresh_token = data.get("refreshToken")
            session = cls(
                username=str(data["username"]),
                token=str(data["token"]),
                refresh_token=None if refresh_token is None else str(refresh_token),
                last_seen={int(k): int(v) for k, v in data.get("lastSeen", {}).items()},
            )
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise StateError(f"malformed session ({exc!r})") from exc
        return session

    def merge_seen(self, seqs: Mapping[int, int]) -> None:
        """Seqs only move forward: an older view of a chat never hides newer messages again."""
        for chat_id, seq in seqs.items():
            if seq > self.last_seen.get(chat_id, 0):
                self.last_seen[chat_id] = seq


class SessionStore:
    """The session file under one home folder."""

    def __init__(self, home: Path) -> None:
        self.home = home

    @property
    def path(self) -> Path:
        return self.home / SESSION_FILE

    def load(self) -> Session | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateError(f"cannot read {self.path}: {exc.strerror}") from exc
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise StateError(f"{self.path} is not valid JSON; log in again") from exc
        try:
            return Session.from_json(data)
        except StateError as exc:
            raise StateError(f"{self.path}: {exc}; log in again") from exc

    def load_quietly(self) -> Session | None:
        """The session, or None if the file is missing or unusable (about to be replaced)."""
        try:
            return self.load()
        except StateError:
            return None

    def save(self, session: Session) -> None:
        self._ensure_home()
        text = json.dumps(session.to_json(), indent=2) + "\n"
        temporary = self.path.with_name(f".{SESSION_FILE}.{os.getpid()}.tmp")
        # O_EXCL with 0600 from the start: the tokens are never readable by others, not even
        # for the moment between creating the file and a chmod.
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                file.write(text)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
            raise

    def delete(self) -> bool:
        """Forgets the session; False when there was none."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        return True

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Excludes the other processes of this home while a session is read and rewritten."""
        self._ensure_home()
        descriptor = os.open(self.home / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)  # closing the descriptor releases the lock

    def update(self, change: Callable[[Session], None]) -> Session | None:
        """Applies `change` to the session as it is on disk now; None if there is none."""
        with self.locked():
            session = self.load_quietly()
            if session is None:
                return None
            change(session)
            self.save(session)
            return session

    def record_seen(self, seqs: Mapping[int, int]) -> None:
        if seqs:
            self.update(lambda session: session.merge_seen(seqs))

    def _ensure_home(self) -> None:
        self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
