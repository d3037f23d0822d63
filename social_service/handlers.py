"""HTTP handlers of social_service."""

from __future__ import annotations

from aiohttp import web
from aiohttp_apigami import docs, querystring_schema, request_schema, response_schema
from marshmallow import ValidationError
from orjson import JSONDecodeError, loads

from shared.keys import PG_POOL
from shared.web.errors import BadRequest, NotFound, validation_error_callback
from shared.web.identity import current_user, require_user
from shared.web.jsoncodec import json_response
from shared.web.schemas import TOKEN_AUTH, path_id
from social_service import queries
from social_service.keys import SOCIAL
from social_service.schemas import (
    IdsOut,
    LikeIn,
    LikeOut,
    ProfileEnvelopeOut,
    ProfilesOut,
    ProfilesQuery,
    SummaryIn,
    SummaryOut,
)


def _int(request: web.Request, name: str) -> int:
    value = path_id(request.match_info[name])
    if value is None:
        raise NotFound(f"{name} not found")
    return value


@docs(tags=["profiles"], summary="A profile, with whether the caller follows it")
@response_schema(ProfileEnvelopeOut, 200)
async def get_profile(request: web.Request) -> web.Response:
    profile = await request.app[SOCIAL].profile(
        request.match_info["username"], current_user(request)
    )
    return json_response({"profile": profile})


@docs(tags=["profiles"], summary="Follow a user", security=TOKEN_AUTH)
@response_schema(ProfileEnvelopeOut, 200)
async def follow_user(request: web.Request) -> web.Response:
    profile = await request.app[SOCIAL].set_follow(
        require_user(request), request.match_info["username"], True
    )
    return json_response({"profile": profile})


@docs(tags=["profiles"], summary="Stop following a user", security=TOKEN_AUTH)
@response_schema(ProfileEnvelopeOut, 200)
async def unfollow_user(request: web.Request) -> web.Response:
    profile = await request.app[SOCIAL].set_follow(
        require_user(request), request.match_info["username"], False
    )
    return json_response({"profile": profile})


async def _related(request: web.Request, direction: str) -> web.Response:
    query = request["querystring"]
    profiles, total = await request.app[SOCIAL].related(
        request.match_info["username"],
        direction,
        current_user(request),
        query["limit"],
        query["offset"],
    )
    return json_response({"profiles": profiles, "profilesCount": total})


@docs(tags=["profiles"], summary="Who follows a user, newest first")
@querystring_schema(ProfilesQuery)
@response_schema(ProfilesOut, 200)
async def list_followers(request: web.Request) -> web.Response:
    return await _related(request, "followers")


@docs(tags=["profiles"], summary="Whom a user follows, newest first")
@querystring_schema(ProfilesQuery)
@response_schema(ProfilesOut, 200)
async def list_following(request: web.Request) -> web.Response:
    return await _related(request, "following")


# Internal routes for posts_service.


@docs(
    tags=["internal"],
    summary="Record a like (idempotent); the body, when sent, names the recipe for its "
    "event (its author's notification)",
)
@response_schema(LikeOut, 200)
async def like_article(request: web.Request) -> web.Response:
    recipe = None
    if request.body_exists:  # a release before notifications sends none
        try:
            recipe = LikeIn().load(loads(await request.read()))["recipe"]
        except (JSONDecodeError, TypeError):
            raise BadRequest("the request body is not a JSON object") from None
        except ValidationError as error:
            validation_error_callback(error)
    result = await request.app[SOCIAL].set_like(
        _int(request, "article_id"), _int(request, "user_id"), True, recipe
    )
    return json_response(result)


@docs(tags=["internal"], summary="Remove a like (idempotent)")
@response_schema(LikeOut, 200)
async def unlike_article(request: web.Request) -> web.Response:
    result = await request.app[SOCIAL].set_like(
        _int(request, "article_id"), _int(request, "user_id"), False
    )
    return json_response(result)


@docs(tags=["internal"], summary="Like counts, the viewer's likes and follows for a page")
@request_schema(SummaryIn)
@response_schema(SummaryOut, 200)
async def get_page_summary(request: web.Request) -> web.Response:
    data = request["data"]
    result = await request.app[SOCIAL].summary(
        data["articleIds"], data["authorIds"], data["viewerId"]
    )
    return json_response(result)


@docs(tags=["internal"], summary="Ids of the articles a user liked, newest like first")
@response_schema(IdsOut, 200)
async def list_liked_article_ids(request: web.Request) -> web.Response:
    async with request.app[PG_POOL].acquire() as connection:
        ids = await queries.liked_article_ids(connection, _int(request, "user_id"))
    return json_response({"ids": ids})


@docs(tags=["internal"], summary="Ids of the users a user follows")
@response_schema(IdsOut, 200)
async def list_following_ids(request: web.Request) -> web.Response:
    async with request.app[PG_POOL].acquire() as connection:
        following = await queries.following_set(connection, _int(request, "user_id"))
    # posts_service asks when the set is missing from Redis: fill it.
    await request.app[SOCIAL].facts.publish(following=[following])
    return json_response({"ids": following.ids[: queries.MAX_IDS]})
