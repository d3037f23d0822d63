#!/bin/bash
# Runs once, when PostgreSQL's volume is new (the image runs docker-entrypoint-initdb.d): one
# login role per service, each owning its own schema and able to use no other. The passwords
# come from the environment compose gives this container (.env); the services' DATABASE_URLs
# carry the same ones.
set -euo pipefail

psql --no-psqlrc -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    --set db="$POSTGRES_DB" \
    --set auth_password="$AUTH_DB_PASSWORD" \
    --set posts_password="$POSTS_DB_PASSWORD" \
    --set social_password="$SOCIAL_DB_PASSWORD" \
    --set chat_password="$CHAT_DB_PASSWORD" <<'SQL'
-- Only the roles below may connect, and nobody may create anything in public.
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
REVOKE ALL ON SCHEMA public FROM PUBLIC;

CREATE ROLE auth_service LOGIN PASSWORD :'auth_password';
CREATE SCHEMA auth AUTHORIZATION auth_service;

CREATE ROLE posts_service LOGIN PASSWORD :'posts_password';
CREATE SCHEMA posts AUTHORIZATION posts_service;

CREATE ROLE social_service LOGIN PASSWORD :'social_password';
CREATE SCHEMA social AUTHORIZATION social_service;

CREATE ROLE chat_service LOGIN PASSWORD :'chat_password';
CREATE SCHEMA chat AUTHORIZATION chat_service;

-- Connecting is all a role may do in the database itself: each owns its schema (created
-- above, so its migrations find it and create nothing else at the database level) and has no
-- USAGE on the others'.
GRANT CONNECT, TEMPORARY ON DATABASE :"db"
    TO auth_service, posts_service, social_service, chat_service;
SQL
