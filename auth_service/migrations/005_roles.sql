-- A user's role: what the gateway vouches for (in the token, then the X-User-Role header) and
-- what moderation routes check. Every account, old or new, is a 'user' until an admin says
-- otherwise (`python -m auth_service.admin`).
ALTER TABLE users ADD COLUMN role text NOT NULL DEFAULT 'user'
    CONSTRAINT users_role_known CHECK (role IN ('user', 'moderator', 'admin'));
