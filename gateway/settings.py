"""Settings of the gateway."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shared.settings import CommonSettings, Env, SettingsError

SERVICES = ("auth", "posts", "social", "chat")
RATE_GROUPS = ("auth", "api", "upload", "ws")
# The web client's build, where `make install` puts it.
DEFAULT_WEB_DIR = Path(__file__).resolve().parent.parent / "web" / "dist"


@dataclass(frozen=True)
class RateLimit:
    anonymous: int  # per client IP per window; 0 turns it off
    user: int  # per user per window; 0 turns it off


@dataclass(frozen=True)
class GatewaySettings:
    common: CommonSettings
    upstreams: dict[str, tuple[str, ...]]
    resolve_interval: float
    connect_timeout: float
    request_timeout: float
    upload_timeout: float
    eject_seconds: float
    keepalive_timeout: float
    pool_size: int
    jwt_issuer: str
    jwt_audience: str
    rate_window: int
    rate_limits: dict[str, RateLimit]
    cors_origins: tuple[str, ...]
    max_body: int
    max_upload: int
    trust_forwarded: bool
    web_dir: Path

    @classmethod
    def from_env(cls, env: Env | None = None) -> GatewaySettings:
        env = env or Env()
        common = CommonSettings.from_env("gateway", 8080, env)
        defaults = {"auth": 8001, "posts": 8002, "social": 8003, "chat": 8004}
        upstreams = {}
        for service in SERVICES:
            name = f"{service.upper()}_URL"
            urls = env.csv(name, f"http://127.0.0.1:{defaults[service]}")
            for url in urls:
                if not url.startswith("http://"):
                    raise SettingsError(f"{name} must list http:// URLs, got {url!r}")
            upstreams[service] = tuple(url.rstrip("/") for url in urls)
        anonymous = env.integer("RATE_LIMIT_ANON", 300)
        user = env.integer("RATE_LIMIT_USER", 1200)
        rate_limits = {
            group: RateLimit(
                env.integer(f"RATE_LIMIT_{group.upper()}_ANON", anonymous),
                env.integer(f"RATE_LIMIT_{group.upper()}_USER", user),
            )
            for group in RATE_GROUPS
        }
        return cls(
            common=common,
            upstreams=upstreams,
            resolve_interval=env.number("UPSTREAM_RESOLVE_INTERVAL", 5.0, minimum=0.1),
            connect_timeout=env.number("UPSTREAM_CONNECT_TIMEOUT", 1.0, minimum=0.01),
            request_timeout=env.number("UPSTREAM_TIMEOUT", 30.0, minimum=0.01),
            upload_timeout=env.number("UPSTREAM_UPLOAD_TIMEOUT", 120.0, minimum=0.01),
            eject_seconds=env.number("UPSTREAM_EJECT_SECONDS", 10.0, minimum=0.1),
            # Shorter than the services' own keep-alive (aiohttp's 75 s), so the gateway closes
            # idle sockets before a service does and never reuses one being closed.
            keepalive_timeout=env.number("UPSTREAM_KEEPALIVE", 30.0, minimum=1.0),
            pool_size=env.integer("UPSTREAM_POOL_SIZE", 256, minimum=1),
            jwt_issuer=env.text("JWT_ISSUER", "chopchop-auth"),
            jwt_audience=env.text("JWT_AUDIENCE", "chopchop"),
            rate_window=env.integer("RATE_LIMIT_WINDOW", 60, minimum=1),
            rate_limits=rate_limits,
            cors_origins=env.csv("CORS_ORIGINS", "*"),
            max_body=env.integer("MAX_BODY_BYTES", 1024**2, minimum=1),
            max_upload=env.integer("MAX_UPLOAD_BYTES", 6 * 1024**2, minimum=1),
            trust_forwarded=env.flag("TRUST_FORWARDED_FOR", False),
            web_dir=Path(env.text("WEB_DIR", str(DEFAULT_WEB_DIR))),
        )
