"""Settings of chat_service."""

from __future__ import annotations

from dataclasses import dataclass

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
            invite_max_ttl=env.integer("CHAT_INVITE_MAX_TTL", 30 * 24 * 3600, minimum=60),
            ws_queue_size=env.integer("CHAT_WS_QUEUE", 256, minimum=2),
            ws_max_message_bytes=env.integer("CHAT_WS_MAX_MESSAGE_BYTES", 16384, minimum=256),
            ws_heartbeat=env.number("CHAT_WS_HEARTBEAT", 30.0, minimum=1.0),
            typing_interval=env.number("CHAT_TYPING_INTERVAL", 3.0),
            presence_ttl=env.integer("CHAT_PRESENCE_TTL", 90, minimum=5),
            gap_wait=env.number("CHAT_GAP_WAIT", 0.5, minimum=0.01),
            gap_check_interval=env.number("CHAT_GAP_CHECK_INTERVAL", 2.0, minimum=0.1),
            general_ttl=env.integer("CHAT_GENERAL_TTL", 3600, minimum=0),
            idempotency_ttl=env.integer("IDEMPOTENCY_TTL", 3600, minimum=1),
        )
