"""Settings of social_service."""

from __future__ import annotations

from dataclasses import dataclass

from shared.settings import CommonSettings, Env


@dataclass(frozen=True)
class SocialSettings:
    common: CommonSettings

    @classmethod
    def from_env(cls, env: Env | None = None) -> SocialSettings:
        env = env or Env()
        return cls(common=CommonSettings.from_env("social", 8003, env))
