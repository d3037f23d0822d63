"""Settings of chat_service."""

from __future__ import annotations

from dataclasses import dataclass

from shared.settings import CommonSettings, Env


@dataclass(frozen=True)
class ChatSettings:
    common: CommonSettings

    @classmethod
    def from_env(cls, env: Env | None = None) -> ChatSettings:
        env = env or Env()
        return cls(common=CommonSettings.from_env("chat", 8004, env))
