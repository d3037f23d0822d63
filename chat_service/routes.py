"""Every URL of chat_service, named `<subject>.<action>`."""

from aiohttp import web

from chat_service.handlers import (
    attachments,
    chats,
    comments,
    invites,
    messages,
    moderation,
    notifications,
    scheduled,
    socket,
)

CHAT = "/api/chats/{chat_id}"
MESSAGE = CHAT + "/messages/{message_id}"
JOIN_REQUEST = CHAT + "/join-requests/{request_id}"

ROUTES = [
    # Before CHAT, which would take "unread" for a chat id (the first route that matches wins).
    web.get("/api/chats/unread", messages.list_unread, name="chats.unread"),
    # Chats and members.
    web.get("/api/chats", chats.list_chats, name="chats.list"),
    web.post("/api/chats", chats.create_chat, name="chats.create"),
    web.get(CHAT, chats.get_chat, name="chats.get"),
    web.patch(CHAT, chats.update_chat, name="chats.update"),
    web.delete(CHAT, chats.delete_chat, name="chats.delete"),
    web.post(CHAT + "/members", chats.add_member, name="chats.members.add"),
    web.delete(CHAT + "/members/{username}", chats.remove_member, name="chats.members.remove"),
    # Invite links and join requests.
    web.post(CHAT + "/invites", invites.create_invite, name="chats.invites.create"),
    web.get(CHAT + "/invites", invites.list_invites, name="chats.invites.list"),
    web.delete(CHAT + "/invites/{code}", invites.revoke_invite, name="chats.invites.revoke"),
    web.post("/api/chats/join/{code}", invites.join_by_code, name="chats.join"),
    web.get(CHAT + "/join-requests", invites.list_join_requests, name="chats.join_requests"),
    web.post(
        JOIN_REQUEST + "/approve",
        invites.approve_join_request,
        name="chats.join_requests.approve",
    ),
    web.post(
        JOIN_REQUEST + "/reject", invites.reject_join_request, name="chats.join_requests.reject"
    ),
    # Messages, read markers and unread messages.
    web.get(CHAT + "/messages", messages.list_messages, name="messages.list"),
    web.post(CHAT + "/messages", messages.send_message, name="messages.send"),
    web.patch(MESSAGE, messages.edit_message, name="messages.edit"),
    web.delete(MESSAGE, messages.delete_message, name="messages.delete"),
    web.post(CHAT + "/read", messages.mark_read, name="chats.read"),
    # Scheduled messages.
    web.get(CHAT + "/messages/scheduled", scheduled.list_scheduled, name="messages.scheduled"),
    web.delete(
        CHAT + "/messages/scheduled/{message_id}",
        scheduled.cancel_scheduled,
        name="messages.cancel",
    ),
    # Comments on messages.
    web.get(MESSAGE + "/comments", comments.list_comments, name="comments.list"),
    web.post(MESSAGE + "/comments", comments.add_comment, name="comments.add"),
    # Files.
    web.post("/api/chat/attachments", attachments.upload_attachment, name="attachments.upload"),
    web.get(
        "/api/chat/attachments/{attachment_id}",
        attachments.download_attachment,
        name="attachments.get",
    ),
    # Reports and a user's standing.
    web.post("/api/users/{username}/report", moderation.report_user, name="users.report"),
    web.get("/api/chat/status", moderation.chat_status, name="chat.status"),
    # Moderators (and admins).
    web.get("/api/moderation/reports", moderation.list_reports, name="moderation.reports"),
    web.post(
        "/api/moderation/reports/{report_id}/resolve",
        moderation.resolve_report,
        name="moderation.resolve",
    ),
    web.get("/api/moderation/bans", moderation.list_bans, name="moderation.bans"),
    web.post("/api/moderation/bans", moderation.create_ban, name="moderation.ban"),
    web.delete("/api/moderation/bans/{username}", moderation.lift_ban, name="moderation.lift"),
    web.get("/api/moderation/log", moderation.moderation_log, name="moderation.log"),
    web.put("/api/moderation/users/{username}/role", moderation.set_role, name="moderation.role"),
    # Notifications.
    web.get("/api/notifications", notifications.list_notifications, name="notifications.list"),
    web.get(
        "/api/notifications/unread-count", notifications.unread_count, name="notifications.unread"
    ),
    web.post("/api/notifications/read", notifications.mark_read, name="notifications.read"),
    # The websocket.
    web.get("/api/chat/ws", socket.chat_socket, name="chat.ws"),
]
