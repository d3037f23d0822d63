"""Settings of posts_service."""

from __future__ import annotations

from dataclasses import dataclass

from shared.settings import CommonSettings, Env


@dataclass(frozen=True)
class PostsSettings:
    common: CommonSettings

    @classmethod
    def from_env(cls, env: Env | None = None) -> PostsSettings:
        env = env or Env()
        return cls(common=CommonSettings.from_env("posts", 8002, env))
