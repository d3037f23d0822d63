"""Settings of chat_service."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shared.settings import CommonSettings, Env


@dataclass(frozen=True)
class ChatSettings:
    common: CommonSettings
    auth_urls: tuple[str, ...]
    internal_timeout: float
    public_url: str
    # Messages and history.
    history_limit: int
    unread_limit: int
    members_limit: int
    # Invite links.
    invite_ttl: int
    invite_max_ttl: int
    # Websockets.
    ws_queue_size: int
    ws_max_message_bytes: int
    ws_heartbeat: float
    typing_interval: float
    presence_ttl: int
    # Live delivery: how long a message that overtook an earlier one waits for it, and how
    # often each replica compares what it delivered with the database.
    gap_wait: float
    gap_check_interval: float
    # General chat.
    general_ttl: int
    idempotency_ttl: int
    idempotency_lease: float
    # Rules on sending.
    send_limit: int
    send_period: int
    ban_reports: int
    ban_seconds: int
    # Which reports count toward the automatic ban: a reporter's account at least this old,
    # with its e-mail confirmed unless turned off (development).
    reporter_min_age: int
    reporter_require_confirmed: bool
    # How long after a rejection the same user may ask to join the same chat again.
    join_retry_after: int
    # Scheduled messages and timed work.
    schedule_max_ahead: int
    schedule_interval: float
    expiry_interval: float
    # Files.
    attachments_dir: Path
    max_attachment_bytes: int
    orphan_ttl: int
    # Seconds a notification is kept.
    notifications_ttl: int

    @classmethod
    def from_env(cls, env: Env | None = None) -> ChatSettings:
        env = env or Env()
        return cls(
            common=CommonSettings.from_env("chat", 8004, env),
            auth_urls=env.csv("AUTH_URL", "http://127.0.0.1:8001"),
            internal_timeout=env.number("INTERNAL_TIMEOUT", 5.0, minimum=0.1),
            public_url=env.url("PUBLIC_URL", "http://127.0.0.1:8080", ("http", "https")).rstrip(
                "/"
            ),
            history_limit=env.integer("CHAT_HISTORY_LIMIT", 20, minimum=1, maximum=100),
            unread_limit=env.integer("CHAT_UNREAD_LIMIT", 100, minimum=1, maximum=1000),
            members_limit=env.integer("CHAT_MEMBERS_LIMIT", 200, minimum=1),
            invite_ttl=env.integer("CHAT_INVITE_TTL", 7 * 24 * 3600, minimum=60),
            # At most a year, the bound the OpenAPI document states for expiresInSeconds.
            invite_max_ttl=env.integer(
                "CHAT_INVITE_MAX_TTL", 30 * 24 * 3600, minimum=60, maximum=365 * 24 * 3600
            ),
            ws_queue_size=env.integer("CHAT_WS_QUEUE", 256, minimum=2),
            ws_max_message_bytes=env.integer("CHAT_WS_MAX_MESSAGE_BYTES", 16384, minimum=256),
            ws_heartbeat=env.number("CHAT_WS_HEARTBEAT", 30.0, minimum=1.0),
            typing_interval=env.number("CHAT_TYPING_INTERVAL", 3.0),
            presence_ttl=env.integer("CHAT_PRESENCE_TTL", 90, minimum=5),
            gap_wait=env.number("CHAT_GAP_WAIT", 0.5, minimum=0.01),
            gap_check_interval=env.number("CHAT_GAP_CHECK_INTERVAL", 2.0, minimum=0.1),
            general_ttl=env.integer("CHAT_GENERAL_TTL", 3600, minimum=0),
            idempotency_ttl=env.integer("IDEMPOTENCY_TTL", 3600, minimum=1),
            idempotency_lease=env.number("IDEMPOTENCY_LEASE", 10.0, minimum=0.5),
            send_limit=env.integer("CHAT_SEND_LIMIT", 20),
            send_period=env.integer("CHAT_SEND_PERIOD", 3600, minimum=1),
            ban_reports=env.integer("CHAT_BAN_REPORTS", 3, minimum=1),
            ban_seconds=env.integer("CHAT_BAN_SECONDS", 4 * 3600, minimum=1),
            reporter_min_age=env.integer("CHAT_REPORTER_MIN_AGE", 86400, minimum=0),
            reporter_require_confirmed=env.flag("CHAT_REPORTER_REQUIRE_CONFIRMED", True),
            join_retry_after=env.integer("CHAT_JOIN_RETRY_AFTER", 86400, minimum=0),
            schedule_max_ahead=env.integer("CHAT_SCHEDULE_MAX_AHEAD", 30 * 86400, minimum=60),
            schedule_interval=env.number("CHAT_SCHEDULE_INTERVAL", 0.5, minimum=0.05),
            expiry_interval=env.number("CHAT_EXPIRY_INTERVAL", 1.0, minimum=0.05),
            attachments_dir=Path(
                env.text(
                    "CHAT_ATTACHMENTS_DIR", str(Path(env.text("DATA_DIR", ".data")) / "attachments")
                )
            ),
            max_attachment_bytes=env.integer("CHAT_MAX_ATTACHMENT_BYTES", 5 * 1024**2, minimum=1),
            orphan_ttl=env.integer("CHAT_ATTACHMENT_ORPHAN_TTL", 3600, minimum=1),
            notifications_ttl=env.integer("NOTIFICATIONS_TTL", 90 * 86400, minimum=60),
        )
