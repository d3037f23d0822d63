"""Settings of posts_service."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shared.settings import CommonSettings, Env


@dataclass(frozen=True)
class PostsSettings:
    common: CommonSettings
    auth_urls: tuple[str, ...]
    social_urls: tuple[str, ...]
    internal_timeout: float
    media_dir: Path
    max_media_bytes: int
    page_cache_ttl: int
    page_cache: bool
    page_list_versions: bool
    idempotency_ttl: int
    idempotency_lease: float

    @classmethod
    def from_env(cls, env: Env | None = None) -> PostsSettings:
        env = env or Env()
        data_dir = Path(env.text("DATA_DIR", ".data"))
        return cls(
            common=CommonSettings.from_env("posts", 8002, env),
            auth_urls=env.csv("AUTH_URL", "http://127.0.0.1:8001"),
            social_urls=env.csv("SOCIAL_URL", "http://127.0.0.1:8003"),
            internal_timeout=env.number("INTERNAL_TIMEOUT", 5.0, minimum=0.1),
            media_dir=Path(env.text("MEDIA_DIR", str(data_dir / "media"))),
            max_media_bytes=env.integer("MAX_MEDIA_BYTES", 5 * 1024**2, minimum=1),
            page_cache_ttl=env.integer("ARTICLE_CACHE_TTL", 60, minimum=1),
            page_cache=env.flag("ARTICLE_CACHE", True),
            page_list_versions=env.flag("ARTICLE_CACHE_LIST_VERSIONS", True),
            idempotency_ttl=env.integer("IDEMPOTENCY_TTL", 3600, minimum=1),
            idempotency_lease=env.number("IDEMPOTENCY_LEASE", 10.0, minimum=0.5),
        )
