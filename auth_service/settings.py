"""Settings of auth_service."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from auth_service.hashing import default_workers
from shared.settings import CommonSettings, Env, Secret, SettingsError


@dataclass(frozen=True)
class AuthSettings:
    common: CommonSettings
    data_dir: Path | None
    signing_key: Secret  # PEM of the current Ed25519 key; empty in development (generated)
    extra_public_keys: str  # PEMs of retired keys whose tokens still verify during a rotation
    issuer: str
    audience: str
    access_ttl: int
    refresh_ttl: int
    session_ttl: int
    public_url: str
    smtp_host: str
    smtp_port: int
    smtp_username: str
    smtp_password: Secret
    smtp_tls: bool
    mail_from: str
    require_confirmed_email: bool
    confirm_ttl: int
    reset_ttl: int
    login_max_failures_account: int
    login_max_failures_ip: int
    login_window: int
    argon2_time_cost: int
    argon2_memory_kib: int
    argon2_workers: int
    argon2_queue: int

    @classmethod
    def from_env(cls, env: Env | None = None) -> AuthSettings:
        env = env or Env()
        common = CommonSettings.from_env("auth", 8001, env)
        signing_key = env.secret("JWT_SIGNING_KEY")
        key_file = env.text("JWT_SIGNING_KEY_FILE", "")
        if key_file:
            try:
                signing_key = Secret(Path(key_file).read_text())
            except OSError as exc:
                raise SettingsError(f"JWT_SIGNING_KEY_FILE cannot be read: {exc}") from None
        if common.is_production and not signing_key:
            raise SettingsError(
                "JWT_SIGNING_KEY or JWT_SIGNING_KEY_FILE must be set in production; "
                "the generated development key is refused there"
            )
        extra_file = env.text("JWT_EXTRA_PUBLIC_KEYS_FILE", "")
        extra = env.text("JWT_EXTRA_PUBLIC_KEYS", "")
        if extra_file:
            try:
                extra = Path(extra_file).read_text()
            except OSError as exc:
                raise SettingsError(f"JWT_EXTRA_PUBLIC_KEYS_FILE cannot be read: {exc}") from None
        data_dir = env.text("DATA_DIR", "")
        return cls(
            common=common,
            data_dir=Path(data_dir) if data_dir else None,
            signing_key=signing_key,
            extra_public_keys=extra,
            issuer=env.text("JWT_ISSUER", "chopchop-auth"),
            audience=env.text("JWT_AUDIENCE", "chopchop"),
            access_ttl=env.integer("ACCESS_TOKEN_TTL", 15 * 60, minimum=1),
            refresh_ttl=env.integer("REFRESH_TOKEN_TTL", 30 * 24 * 3600, minimum=1),
            session_ttl=env.integer("SESSION_TTL", 30 * 24 * 3600, minimum=1),
            public_url=env.text("PUBLIC_URL", "http://127.0.0.1:8080").rstrip("/"),
            smtp_host=env.text("SMTP_HOST", "127.0.0.1"),
            smtp_port=env.integer("SMTP_PORT", 1025, maximum=65535),
            smtp_username=env.text("SMTP_USERNAME", ""),
            smtp_password=env.secret("SMTP_PASSWORD"),
            smtp_tls=env.flag("SMTP_TLS", False),
            mail_from=env.text("MAIL_FROM", "Chop-chop <no-reply@chopchop.local>"),
            require_confirmed_email=env.flag("AUTH_REQUIRE_CONFIRMED_EMAIL", False),
            confirm_ttl=env.integer("EMAIL_CONFIRM_TTL", 48 * 3600, minimum=60),
            reset_ttl=env.integer("PASSWORD_RESET_TTL", 3600, minimum=60),
            login_max_failures_account=env.integer("LOGIN_MAX_FAILURES_ACCOUNT", 10),
            login_max_failures_ip=env.integer("LOGIN_MAX_FAILURES_IP", 50),
            login_window=env.integer("LOGIN_FAILURE_WINDOW", 15 * 60, minimum=1),
            argon2_time_cost=env.integer("ARGON2_TIME_COST", 3, minimum=1),
            argon2_memory_kib=env.integer("ARGON2_MEMORY_KIB", 65536, minimum=8),
            argon2_workers=env.integer("ARGON2_WORKERS", default_workers(), minimum=1),
            argon2_queue=env.integer("ARGON2_QUEUE", 32, minimum=0),
        )
