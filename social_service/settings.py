"""Settings of social_service."""

from __future__ import annotations

from dataclasses import dataclass

from shared.settings import CommonSettings, Env


@dataclass(frozen=True)
class SocialSettings:
    common: CommonSettings
    auth_urls: tuple[str, ...]
    internal_timeout: float

    @classmethod
    def from_env(cls, env: Env | None = None) -> SocialSettings:
        env = env or Env()
        return cls(
            common=CommonSettings.from_env("social", 8003, env),
            auth_urls=env.csv("AUTH_URL", "http://127.0.0.1:8001"),
            internal_timeout=env.number("INTERNAL_TIMEOUT", 5.0, minimum=0.1),
        )
