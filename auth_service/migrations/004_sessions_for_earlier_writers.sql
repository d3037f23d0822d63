-- Expand, then contract: releases older than the sessions (002) write refresh tokens whose
-- family has no session row, which `refresh_tokens_session` refuses, and they end a login by
-- revoking its refresh tokens only, which the gateways never learn. While such a release may
-- still run beside this one (a rolling upgrade, a rollback), the database keeps both shapes
-- in step. With writers that know sessions every statement here finds nothing to do.
-- Contract (drop the three triggers) once no release before the sessions can run.

-- A refresh token of an unknown family opens its session, as 002 did for the families
-- issued before it.
CREATE FUNCTION session_for_family() RETURNS trigger
    LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO sessions (id, user_id, expires_at)
    VALUES (NEW.family_id, NEW.user_id, NEW.expires_at)
    ON CONFLICT (id) DO NOTHING;
    RETURN NEW;
END
$$;

CREATE TRIGGER refresh_tokens_open_session BEFORE INSERT ON refresh_tokens
    FOR EACH ROW EXECUTE FUNCTION session_for_family();

-- A revoked refresh token ends its session (ending a session revokes every token of it).
CREATE FUNCTION session_of_revoked_token() RETURNS trigger
    LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE sessions SET revoked_at = clock_timestamp()
    WHERE id = NEW.family_id AND revoked_at IS NULL;
    RETURN NULL;
END
$$;

CREATE TRIGGER refresh_tokens_end_session AFTER UPDATE OF revoked_at ON refresh_tokens
    FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
    EXECUTE FUNCTION session_of_revoked_token();

-- A deleted account's sessions end with it (they stay, revoked, until they expire).
CREATE FUNCTION sessions_of_deleted_user() RETURNS trigger
    LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE sessions SET revoked_at = clock_timestamp()
    WHERE user_id = OLD.id AND revoked_at IS NULL;
    RETURN OLD;
END
$$;

CREATE TRIGGER users_end_sessions BEFORE DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION sessions_of_deleted_user();
