"""Every URL of chat_service."""

from aiohttp import web

from chat_service import handlers as h
from chat_service import handlers_rules as r
from chat_service.realtime import chat_socket

CHAT = "/api/chats/{chat_id}"
MESSAGE = CHAT + "/messages/{message_id}"

ROUTES = [
    web.get("/api/chats", h.list_chats, name="chats.list"),
    web.post("/api/chats", h.create_chat, name="chats.create"),
    web.get("/api/chats/unread", h.list_unread, name="chats.unread"),
    web.post("/api/chats/join/{code}", h.join_by_code, name="chats.join"),
    web.get(CHAT, h.get_chat, name="chats.get"),
    web.patch(CHAT, h.update_chat, name="chats.update"),
    web.delete(CHAT, h.delete_chat, name="chats.delete"),
    web.post(CHAT + "/members", h.add_member, name="chats.members.add"),
    web.delete(CHAT + "/members/{username}", h.remove_member, name="chats.members.remove"),
    web.post(CHAT + "/invites", h.create_invite, name="chats.invites.create"),
    web.get(CHAT + "/join-requests", h.list_join_requests, name="chats.join_requests"),
    web.post(
        CHAT + "/join-requests/{request_id}/approve",
        h.approve_join_request,
        name="chats.join_requests.approve",
    ),
    web.post(
        CHAT + "/join-requests/{request_id}/reject",
        h.reject_join_request,
        name="chats.join_requests.reject",
    ),
    web.get(CHAT + "/messages", h.list_messages, name="messages.list"),
    web.post(CHAT + "/messages", h.send_message, name="messages.send"),
    web.patch(MESSAGE, h.edit_message, name="messages.edit"),
    web.delete(MESSAGE, h.delete_message, name="messages.delete"),
    web.get(CHAT + "/messages/scheduled", r.list_scheduled, name="messages.scheduled"),
    web.delete(
        CHAT + "/messages/scheduled/{message_id}", r.cancel_scheduled, name="messages.cancel"
    ),
    web.get(MESSAGE + "/comments", r.list_comments, name="comments.list"),
    web.post(MESSAGE + "/comments", r.add_comment, name="comments.add"),
    web.post(CHAT + "/read", h.mark_read, name="chats.read"),
    web.post("/api/chat/attachments", r.upload_attachment, name="attachments.upload"),
    web.get("/api/chat/attachments/{attachment_id}", r.download_attachment, name="attachments.get"),
    web.get("/api/chat/status", r.chat_status, name="chat.status"),
    web.post("/api/users/{username}/report", r.report_user, name="users.report"),
    web.get("/api/chat/ws", chat_socket, name="chat.ws"),
]
