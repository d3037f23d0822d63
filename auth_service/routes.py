"""Every URL of auth_service."""

from aiohttp import web

from auth_service import handlers as h
from auth_service.avatar import AVATAR_PATH, get_default_avatar

ROUTES = [
    web.post("/api/users", h.register_user, name="users.register"),
    web.get("/api/users", h.list_users, name="users.list"),
    web.post("/api/users/login", h.log_in, name="users.login"),
    web.get("/api/user", h.get_current_user, name="user.get"),
    web.put("/api/user", h.update_current_user, name="user.update"),
    web.delete("/api/user", h.delete_current_user, name="user.delete"),
    web.post("/api/auth/refresh", h.refresh_tokens, name="auth.refresh"),
    web.post("/api/auth/logout", h.log_out, name="auth.logout"),
    web.post("/api/auth/confirm", h.confirm_email, name="auth.confirm"),
    web.post("/api/auth/confirm/resend", h.resend_confirmation, name="auth.confirm_resend"),
    web.post("/api/auth/password-reset", h.request_password_reset, name="auth.reset"),
    web.post(
        "/api/auth/password-reset/confirm", h.confirm_password_reset, name="auth.reset_confirm"
    ),
    web.get("/api/.well-known/jwks.json", h.get_jwks, name="auth.jwks"),
    web.get(AVATAR_PATH, get_default_avatar, name="static.avatar"),
    web.get("/internal/users", h.internal_users_by_ids, name="internal.users"),
    web.get(
        "/internal/users/by-username/{username}",
        h.internal_user_by_username,
        name="internal.user_by_username",
    ),
    web.get(
        "/internal/users/{user_id}/standing",
        h.internal_user_standing,
        name="internal.user_standing",
    ),
    web.put("/internal/users/{username}/role", h.internal_set_role, name="internal.set_role"),
    web.get("/internal/sessions/revoked", h.internal_revoked_sessions, name="internal.revoked"),
]
