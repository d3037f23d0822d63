"""The app keys of chat_service: what its handlers and background work find in the app.

Only handlers and the app's wiring import this module, so nothing it names imports it back."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from chat_service.attachments import Attachments
    from chat_service.chats import Chats
    from chat_service.invites import Invites
    from chat_service.live.hub import Hub
    from chat_service.live.session import Sessions
    from chat_service.messages import Messages
    from chat_service.moderation import Moderation
    from chat_service.moderators import Moderators
    from chat_service.notifications import Notifications
    from chat_service.scheduling import Timed
    from shared.web.idempotency import Idempotency

CHATS: web.AppKey[Chats] = web.AppKey("chats")
INVITES: web.AppKey[Invites] = web.AppKey("invites")
MESSAGES: web.AppKey[Messages] = web.AppKey("messages")
IDEMPOTENCY: web.AppKey[Idempotency] = web.AppKey("idempotency")
ATTACHMENTS: web.AppKey[Attachments] = web.AppKey("attachments")
MODERATION: web.AppKey[Moderation] = web.AppKey("moderation")
MODERATORS: web.AppKey[Moderators] = web.AppKey("moderators")
NOTIFICATIONS: web.AppKey[Notifications] = web.AppKey("notifications")
HUB: web.AppKey[Hub] = web.AppKey("hub")
SESSIONS: web.AppKey[Sessions] = web.AppKey("sessions")
TIMED: web.AppKey[Timed] = web.AppKey("timed")
