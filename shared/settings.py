"""Typed settings read once from environment variables, with errors that name the variable."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ENVIRONMENTS = ("development", "test", "production")


class SettingsError(ValueError):
    """A variable of the environment is missing or malformed; the message names it."""


class Secret:
    """A string that never shows itself in `repr`, `str` or logs."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "Secret('**********')" if self._value else "Secret('')"

    __str__ = __repr__


def mask_url(url: str) -> str:
    """The URL with its password replaced by stars, fit for a log line."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":****@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


class Env:
    """Reads typed values from an environment mapping; every error names its variable."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ

    def _raw(self, name: str) -> str | None:
        value = self._environ.get(name)
        if value is None or value.strip() == "":
            return None
        return value.strip()

    def text(self, name: str, default: str) -> str:
        value = self._raw(name)
        return default if value is None else value

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.text(name, default).lower()
        if value not in choices:
            raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
        return value

    def integer(
        self, name: str, default: int, *, minimum: int = 0, maximum: int | None = None
    ) -> int:
        raw = self._raw(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            upper = "" if maximum is None else f" and at most {maximum}"
            raise SettingsError(f"{name} must be at least {minimum}{upper}, got {value}")
        return value

    def number(self, name: str, default: float, *, minimum: float = 0.0) -> float:
        raw = self._raw(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise SettingsError(f"{name} must be a number, got {raw!r}") from None
        if value < minimum:
            raise SettingsError(f"{name} must be at least {minimum}, got {value}")
        return value

    def flag(self, name: str, default: bool) -> bool:
        raw = self._raw(name)
        if raw is None:
            return default
        lowered = raw.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"{name} must be true or false, got {raw!r}")

    def url(self, name: str, default: str, schemes: tuple[str, ...]) -> str:
        value = self.text(name, default)
        scheme = urlsplit(value).scheme
        if scheme not in schemes:
            raise SettingsError(
                f"{name} must be a URL with scheme {' or '.join(schemes)}, got {mask_url(value)!r}"
            )
        return value

    def secret(self, name: str, default: str = "") -> Secret:
        return Secret(self.text(name, default))

    def csv(self, name: str, default: str) -> tuple[str, ...]:
        return tuple(item.strip() for item in self.text(name, default).split(",") if item.strip())


# The shortest key accepted for the signatures between the gateway and the services.
MIN_INTERNAL_KEY_LENGTH = 32


@dataclass(frozen=True)
class InternalKeys:
    """The keys shared only inside the deployment (shared/web/internal_auth.py): the first
    signs what the gateway vouches for and what a service asks of another, every one is
    accepted, so a rotation lists the new key beside the old one for a while."""

    keys: tuple[bytes, ...] = field(repr=False)

    @property
    def signing(self) -> bytes:
        return self.keys[0]

    def __repr__(self) -> str:
        return f"InternalKeys({len(self.keys)} keys)"

    @classmethod
    def from_env(cls, env: Env, environment: str) -> InternalKeys:
        """`INTERNAL_AUTH_KEY` (or `INTERNAL_AUTH_KEY_FILE`) signs and verifies; the keys of
        `INTERNAL_AUTH_PREVIOUS_KEYS` (comma-separated) only verify. Production requires them; a
        development or test process without one shares the key of its stack's `DATA_DIR`
        (generated once), or, without a `DATA_DIR`, one generated for the process."""
        current = env.text("INTERNAL_AUTH_KEY", "")
        key_file = env.text("INTERNAL_AUTH_KEY_FILE", "")
        if key_file:
            try:
                current = Path(key_file).read_text().strip()
            except OSError as exc:
                raise SettingsError(f"INTERNAL_AUTH_KEY_FILE cannot be read: {exc}") from None
        previous = env.csv("INTERNAL_AUTH_PREVIOUS_KEYS", "")
        if not current:
            if environment == "production":
                raise SettingsError(
                    "INTERNAL_AUTH_KEY or INTERNAL_AUTH_KEY_FILE must be set in production: "
                    "the services refuse identity headers the gateway has not signed"
                )
            data_dir = env.text("DATA_DIR", "")
            current = _development_internal_key(Path(data_dir) if data_dir else None)
        named = [("INTERNAL_AUTH_KEY", current)]
        named += [("INTERNAL_AUTH_PREVIOUS_KEYS", key) for key in previous]
        for name, value in named:
            if len(value) < MIN_INTERNAL_KEY_LENGTH:
                raise SettingsError(
                    f"{name} must be at least {MIN_INTERNAL_KEY_LENGTH} characters "
                    "(e.g. `openssl rand -hex 32`)"
                )
        return cls(tuple(key.encode() for key in (current, *previous)))


_PROCESS_KEY: list[str] = []


def _development_internal_key(data_dir: Path | None) -> str:
    """The key of a development or test stack: kept in `DATA_DIR/internal/auth.key`, so that
    every process of the stack (and every restart) shares it. Processes that start together
    race for the file: each links its own complete file into place, the link fails for all
    but the first, and the others read the winner's key."""
    if data_dir is None:
        if not _PROCESS_KEY:
            _PROCESS_KEY.append(secrets.token_hex(32))
        return _PROCESS_KEY[0]
    path = data_dir / "internal" / "auth.key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".auth-")
    try:
        with os.fdopen(descriptor, "w") as file:  # mkstemp creates it with mode 0600
            file.write(key)
        os.link(temporary, path)
    except FileExistsError:
        return path.read_text().strip()
    finally:
        os.unlink(temporary)
    return key


@dataclass(frozen=True)
class CommonSettings:
    """What every service reads: where it listens, its stores, and how it logs."""

    service: str
    host: str
    port: int
    environment: str
    database_url: Secret
    redis_url: Secret
    log_level: str
    db_pool_min: int
    db_pool_max: int
    shutdown_timeout: float
    internal_keys: InternalKeys
    # False only while a deployment moves from a release that did not sign (see the README's
    # "Upgrading"): a signature is still checked when present, its absence is let through.
    internal_auth_enforce: bool

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @classmethod
    def from_env(cls, service: str, default_port: int, env: Env | None = None) -> CommonSettings:
        env = env or Env()
        prefix = service.upper()
        environment = env.choice("ENVIRONMENT", "development", ENVIRONMENTS)
        return cls(
            service=service,
            host=env.text(f"{prefix}_HOST", "127.0.0.1"),
            port=env.integer(f"{prefix}_PORT", default_port, minimum=0, maximum=65535),
            environment=environment,
            database_url=Secret(
                env.url(
                    "DATABASE_URL",
                    "postgresql://postgres@127.0.0.1:5432/postgres",
                    ("postgresql", "postgres"),
                )
            ),
            redis_url=Secret(
                env.url("REDIS_URL", "redis://127.0.0.1:6379/0", ("redis", "rediss", "unix"))
            ),
            log_level=env.choice("LOG_LEVEL", "info", ("debug", "info", "warning", "error")),
            db_pool_min=env.integer("DB_POOL_MIN", 1, minimum=0),
            db_pool_max=env.integer("DB_POOL_MAX", 10, minimum=1),
            shutdown_timeout=env.number("SHUTDOWN_TIMEOUT", 10.0),
            internal_keys=InternalKeys.from_env(env, environment),
            internal_auth_enforce=env.flag("INTERNAL_AUTH_ENFORCE", True),
        )
