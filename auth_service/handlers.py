"""HTTP handlers of auth_service: parse with a schema, call the domain, answer JSON."""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp import web
from aiohttp_apigami import docs, querystring_schema, request_schema, response_schema

from auth_service import queries
from auth_service.keys import ACCOUNTS, KEYS
from auth_service.roles import set_role
from auth_service.schemas import (
    ConfirmedUserEnvelopeOut,
    IdsQuery,
    InternalUserEnvelopeOut,
    InternalUsersOut,
    JwksOut,
    LoginEnvelope,
    NewUserEnvelope,
    PublicUsersOut,
    RefreshIn,
    ResetConfirmIn,
    ResetRequestIn,
    RevokedQuery,
    RevokedSessionsOut,
    RoleIn,
    StandingEnvelopeOut,
    StatusOut,
    TokenIn,
    UpdateUserEnvelope,
    UserEnvelopeOut,
    UsersQuery,
)
from auth_service.sessions import Sessions
from shared.contracts.revocation import page_to_json
from shared.keys import PG_POOL
from shared.web.errors import NotFound, Unauthorized, ValidationFailed
from shared.web.identity import client_ip, require_user
from shared.web.jsoncodec import json_response
from shared.web.openapi import errors
from shared.web.schemas import TOKEN_AUTH
from shared.web.timefmt import iso


def user_json(
    request: web.Request, user: asyncpg.Record, token: str, refresh_token: str | None
) -> dict[str, Any]:
    return {
        "user": {
            "email": user["email"],
            "token": token,
            "username": user["username"],
            "bio": user["bio"],
            "image": user["image"] or request.app[ACCOUNTS].default_image,
            "emailConfirmed": user["email_confirmed"],
            "role": user["role"],
            "refreshToken": refresh_token,
        }
    }


def bearer_token(request: web.Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() not in ("token", "bearer") or not token:
        raise Unauthorized("authentication is required")
    return token.strip()


@docs(
    tags=["users"],
    summary="Register",
    responses=errors(422),
)
@request_schema(NewUserEnvelope)
@response_schema(UserEnvelopeOut, 201)
async def register_user(request: web.Request) -> web.Response:
    data = request["data"]["user"]
    session = await request.app[ACCOUNTS].register(
        data["username"], data["email"].strip(), data["password"]
    )
    return json_response(
        user_json(request, session.user, session.access_token, session.refresh_token), status=201
    )


@docs(
    tags=["users"],
    summary="Log in",
    # 422 for wrong credentials, 403 while the e-mail is unconfirmed (when required), 429
    # after too many failures.
    responses=errors(403, 422, 429),
)
@request_schema(LoginEnvelope)
@response_schema(UserEnvelopeOut, 200)
async def log_in(request: web.Request) -> web.Response:
    data = request["data"]["user"]
    session = await request.app[ACCOUNTS].login(
        data["email"].strip(), data["password"], client_ip(request)
    )
    return json_response(
        user_json(request, session.user, session.access_token, session.refresh_token)
    )


@docs(tags=["users"], summary="The current user", security=TOKEN_AUTH)
@response_schema(UserEnvelopeOut, 200)
async def get_current_user(request: web.Request) -> web.Response:
    caller = require_user(request)
    user = await request.app[ACCOUNTS].current(caller.id)
    return json_response(user_json(request, user, bearer_token(request), None))


@docs(
    tags=["users"],
    summary="Update the current user",
    description="A new password ends every session of the user, this one included, and "
    "starts a new session: the answer carries its `token` and `refreshToken`.",
    security=TOKEN_AUTH,
)
@request_schema(UpdateUserEnvelope)
@response_schema(UserEnvelopeOut, 200)
async def update_current_user(request: web.Request) -> web.Response:
    caller = require_user(request)
    user, signed_in = await request.app[ACCOUNTS].update(caller.id, request["data"]["user"])
    if signed_in is not None:
        return json_response(
            user_json(request, user, signed_in.access_token, signed_in.refresh_token)
        )
    return json_response(user_json(request, user, bearer_token(request), None))


@docs(
    tags=["users"], summary="Delete the current account and end its sessions", security=TOKEN_AUTH
)
async def delete_current_user(request: web.Request) -> web.Response:
    caller = require_user(request)
    await request.app[ACCOUNTS].delete(caller.id)
    return web.Response(status=204)


@docs(
    tags=["auth"],
    summary="Trade a refresh token for a new pair of tokens",
    responses=errors(401),  # an unknown, expired or spent refresh token
)
@request_schema(RefreshIn)
@response_schema(UserEnvelopeOut, 200)
async def refresh_tokens(request: web.Request) -> web.Response:
    session = await request.app[ACCOUNTS].refresh(request["data"]["refreshToken"])
    return json_response(
        user_json(request, session.user, session.access_token, session.refresh_token)
    )


@docs(
    tags=["auth"],
    summary="Log out: end this session (its token, refresh tokens and access tokens)",
    security=TOKEN_AUTH,
)
async def log_out(request: web.Request) -> web.Response:
    require_user(request)
    await request.app[ACCOUNTS].logout(bearer_token(request))
    return web.Response(status=204)


@docs(tags=["auth"], summary="Confirm an e-mail address with the mailed token")
@request_schema(TokenIn)
@response_schema(ConfirmedUserEnvelopeOut, 200)
async def confirm_email(request: web.Request) -> web.Response:
    accounts = request.app[ACCOUNTS]
    user = await accounts.confirm(request["data"]["token"])
    return json_response({"user": {**accounts.profile(user), "emailConfirmed": True}})


@docs(tags=["auth"], summary="Send the confirmation e-mail again", security=TOKEN_AUTH)
@response_schema(StatusOut, 202)
async def resend_confirmation(request: web.Request) -> web.Response:
    caller = require_user(request)
    await request.app[ACCOUNTS].resend_confirmation(caller.id)
    return json_response({"status": "sent"}, status=202)


@docs(tags=["auth"], summary="Ask for a password-reset e-mail (always 202)")
@request_schema(ResetRequestIn)
@response_schema(StatusOut, 202)
async def request_password_reset(request: web.Request) -> web.Response:
    await request.app[ACCOUNTS].request_reset(request["data"]["email"].strip())
    return json_response({"status": "accepted"}, status=202)


@docs(tags=["auth"], summary="Set a new password with the mailed token; ends every session")
@request_schema(ResetConfirmIn)
@response_schema(StatusOut, 200)
async def confirm_password_reset(request: web.Request) -> web.Response:
    data = request["data"]
    await request.app[ACCOUNTS].reset_password(data["token"], data["password"])
    return json_response({"status": "password changed"})


@docs(tags=["users"], summary="Users' public profiles, newest first")
@querystring_schema(UsersQuery)
@response_schema(PublicUsersOut, 200)
async def list_users(request: web.Request) -> web.Response:
    query = request["querystring"]
    async with request.app[PG_POOL].acquire() as connection:
        rows, total = await queries.list_profiles(connection, query["limit"], query["offset"])
    default_image = request.app[ACCOUNTS].default_image
    profiles = [
        {"username": r["username"], "bio": r["bio"], "image": r["image"] or default_image}
        for r in rows
    ]
    return json_response({"profiles": profiles, "profilesCount": total})


@docs(tags=["auth"], summary="Public keys that verify access tokens")
@response_schema(JwksOut, 200)
async def get_jwks(request: web.Request) -> web.Response:
    return json_response(request.app[KEYS].jwks(), headers={"Cache-Control": "public, max-age=300"})


# Internal routes: reachable on the service network only, never through the gateway.


@docs(tags=["internal"], summary="Profiles of a batch of user ids")
@querystring_schema(IdsQuery)
@response_schema(InternalUsersOut, 200)
async def internal_users_by_ids(request: web.Request) -> web.Response:
    async with request.app[PG_POOL].acquire() as connection:
        rows = await queries.get_profiles_by_ids(connection, request["querystring"]["ids"])
    accounts = request.app[ACCOUNTS]
    return json_response({"users": [accounts.profile(row) for row in rows]})


@docs(tags=["internal"], summary="Profile of one user by username")
@response_schema(InternalUserEnvelopeOut, 200)
async def internal_user_by_username(request: web.Request) -> web.Response:
    async with request.app[PG_POOL].acquire() as connection:
        row = await queries.get_profile_by_username(connection, request.match_info["username"])
    if row is None:
        raise NotFound("user not found")
    return json_response({"user": request.app[ACCOUNTS].profile(row)})


@docs(tags=["internal"], summary="A user's standing: a confirmed e-mail, the account's age")
@response_schema(StandingEnvelopeOut, 200)
async def internal_user_standing(request: web.Request) -> web.Response:
    try:
        user_id = int(request.match_info["user_id"])
    except ValueError:
        raise NotFound("user not found") from None
    async with request.app[PG_POOL].acquire() as connection:
        row = await queries.get_standing(connection, user_id)
    if row is None:
        raise NotFound("user not found")
    user = {
        **request.app[ACCOUNTS].profile(row),
        "emailConfirmed": row["email_confirmed"],
        "createdAt": iso(row["created_at"]),
        "role": row["role"],
    }
    return json_response({"user": user})


@docs(
    tags=["internal"],
    summary="Set a user's role (chat's moderation route calls it for an admin); ends the "
    "user's sessions",
)
@request_schema(RoleIn)
@response_schema(StandingEnvelopeOut, 200)
async def internal_set_role(request: web.Request) -> web.Response:
    accounts = request.app[ACCOUNTS]
    async with request.app[PG_POOL].acquire() as connection, connection.transaction():
        user, revoked = await set_role(
            connection,
            request.match_info["username"],
            request["data"]["role"],
            accounts.default_image,
        )
    await accounts.sessions.announce(revoked)
    accounts.relay.wake()
    return json_response(
        {
            "user": {
                **accounts.profile(user),
                "emailConfirmed": user["email_confirmed"],
                "createdAt": iso(user["created_at"]),
                "role": user["role"],
            }
        }
    )


@docs(tags=["internal"], summary="Sessions ended and not yet expired, in order, after a cursor")
@querystring_schema(RevokedQuery)
@response_schema(RevokedSessionsOut, 200)
async def internal_revoked_sessions(request: web.Request) -> web.Response:
    """What the gateways load at start, after reconnecting to pub/sub, and every little while."""
    async with request.app[PG_POOL].acquire() as connection:
        try:
            page = await Sessions.revoked_page(connection, request["querystring"].get("after"))
        except ValueError:
            raise ValidationFailed(fields={"after": ["is not a cursor"]}) from None
    return json_response(page_to_json(page))
