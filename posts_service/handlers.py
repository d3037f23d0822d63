"""HTTP handlers of posts_service."""

from __future__ import annotations

from aiohttp import web
from aiohttp_apigami import docs, querystring_schema, request_schema, response_schema

from posts_service import queries
from posts_service.keys import ARTICLES, IDEMPOTENCY, POSTS_SETTINGS, READS, STORAGE
from posts_service.media import receive_image
from posts_service.schemas import (
    ArticleEnvelopeOut,
    ArticlesOut,
    ArticlesQuery,
    CommentEnvelopeOut,
    CommentsOut,
    FeedQuery,
    MediaEnvelopeOut,
    ModerationReasonQuery,
    NewArticleEnvelope,
    NewCommentEnvelope,
    TagsOut,
    UpdateArticleEnvelope,
)
from shared.data.files import new_file_id
from shared.keys import PG_POOL
from shared.web.errors import BadRequest, NotFound
from shared.web.idempotency import IDEMPOTENCY_KEY, Seal, enveloped
from shared.web.identity import current_user, require_user
from shared.web.jsoncodec import json_response
from shared.web.schemas import FILE_UPLOAD, TOKEN_AUTH, path_id
from shared.web.timefmt import iso


@docs(tags=["articles"], summary="Articles, newest first, filtered by tag, author, favorited or q")
@querystring_schema(ArticlesQuery)
@response_schema(ArticlesOut, 200)
async def list_articles(request: web.Request) -> web.Response:
    articles, total, cursor = await request.app[READS].list_articles(
        request["querystring"], current_user(request)
    )
    return articles_response(articles, total, cursor)


@docs(tags=["articles"], summary="Articles by authors the caller follows", security=TOKEN_AUTH)
@querystring_schema(FeedQuery)
@response_schema(ArticlesOut, 200)
async def get_feed(request: web.Request) -> web.Response:
    query = request["querystring"]
    articles, total, cursor = await request.app[READS].feed(
        require_user(request), query["limit"], query["offset"], query.get("before")
    )
    return articles_response(articles, total, cursor)


def articles_response(articles: str, total: int, cursor: str | None) -> web.Response:
    """A list of articles whose JSON text is already composed (see Articles.compose_items)."""
    # The cursor is digits and a dot: nothing to escape. Absent on the last page.
    after = "" if cursor is None else f',"nextCursor":"{cursor}"'
    body = f'{{"articles":{articles},"articlesCount":{int(total)}{after}}}'.encode()
    return web.Response(body=body, content_type="application/json", charset="utf-8")


@docs(tags=["articles"], summary="One article")
@response_schema(ArticleEnvelopeOut, 200)
async def get_article(request: web.Request) -> web.Response:
    article = await request.app[READS].get(request.match_info["slug"], current_user(request))
    return json_response({"article": article})


@docs(
    tags=["articles"],
    summary="Publish an article or recipe",
    security=TOKEN_AUTH,
    parameters=IDEMPOTENCY_KEY,
)
@request_schema(NewArticleEnvelope)
@response_schema(ArticleEnvelopeOut, 201)
async def create_article(request: web.Request) -> web.Response:
    caller = require_user(request)
    fields = request["data"]["article"]

    async def produce(seal: Seal) -> tuple[int, dict[str, object]]:
        article = await request.app[ARTICLES].create(caller, fields, enveloped(seal, "article"))
        return 201, {"article": article}

    return await request.app[IDEMPOTENCY].run(request, caller.id, produce)


@docs(tags=["articles"], summary="Change an article (its author only)", security=TOKEN_AUTH)
@request_schema(UpdateArticleEnvelope)
@response_schema(ArticleEnvelopeOut, 200)
async def update_article(request: web.Request) -> web.Response:
    article = await request.app[ARTICLES].update(
        require_user(request), request.match_info["slug"], request["data"]["article"]
    )
    return json_response({"article": article})


@docs(
    tags=["articles"],
    summary="Delete an article (its author, or a moderator with an optional reason that the "
    "audit log keeps)",
    security=TOKEN_AUTH,
)
@querystring_schema(ModerationReasonQuery)
async def delete_article(request: web.Request) -> web.Response:
    await request.app[ARTICLES].delete(
        require_user(request), request.match_info["slug"], request["querystring"].get("reason")
    )
    return web.Response(status=204)


@docs(tags=["favorites"], summary="Favorite an article", security=TOKEN_AUTH)
@response_schema(ArticleEnvelopeOut, 200)
async def favorite_article(request: web.Request) -> web.Response:
    article = await request.app[ARTICLES].set_favorite(
        require_user(request), request.match_info["slug"], True
    )
    return json_response({"article": article})


@docs(tags=["favorites"], summary="Unfavorite an article", security=TOKEN_AUTH)
@response_schema(ArticleEnvelopeOut, 200)
async def unfavorite_article(request: web.Request) -> web.Response:
    article = await request.app[ARTICLES].set_favorite(
        require_user(request), request.match_info["slug"], False
    )
    return json_response({"article": article})


@docs(tags=["comments"], summary="An article's comments, oldest first")
@response_schema(CommentsOut, 200)
async def list_comments(request: web.Request) -> web.Response:
    comments = await request.app[READS].comments(request.match_info["slug"], current_user(request))
    return json_response({"comments": comments})


@docs(
    tags=["comments"],
    summary="Comment on an article",
    security=TOKEN_AUTH,
    parameters=IDEMPOTENCY_KEY,
)
@request_schema(NewCommentEnvelope)
@response_schema(CommentEnvelopeOut, 200)
async def add_comment(request: web.Request) -> web.Response:
    caller = require_user(request)
    slug = request.match_info["slug"]
    body = request["data"]["comment"]["body"]

    async def produce(seal: Seal) -> tuple[int, dict[str, object]]:
        articles = request.app[ARTICLES]
        comment = await articles.add_comment(caller, slug, body, enveloped(seal, "comment"))
        return 200, {"comment": comment}

    return await request.app[IDEMPOTENCY].run(request, caller.id, produce)


@docs(
    tags=["comments"],
    summary="Delete a comment (its author, or a moderator with an optional reason that the "
    "audit log keeps)",
    security=TOKEN_AUTH,
)
@querystring_schema(ModerationReasonQuery)
async def delete_comment(request: web.Request) -> web.Response:
    comment_id = path_id(request.match_info["id"])
    if comment_id is None:
        raise NotFound("comment not found")
    await request.app[ARTICLES].delete_comment(
        require_user(request),
        request.match_info["slug"],
        comment_id,
        request["querystring"].get("reason"),
    )
    return web.Response(status=204)


@docs(tags=["tags"], summary="Tags, most used first")
@response_schema(TagsOut, 200)
async def list_tags(request: web.Request) -> web.Response:
    return json_response({"tags": await request.app[READS].tags()})


@docs(
    tags=["media"],
    summary="Upload an image (multipart, field 'file')",
    security=TOKEN_AUTH,
    requestBody=FILE_UPLOAD,
)
@response_schema(MediaEnvelopeOut, 201)
async def upload_media(request: web.Request) -> web.Response:
    caller = require_user(request)
    if not request.content_type.startswith("multipart/"):
        raise BadRequest("the upload must be multipart/form-data with a 'file' part")
    settings = request.app[POSTS_SETTINGS]
    storage = request.app[STORAGE]
    path, content_type, size = await receive_image(
        await request.multipart(), storage.spool, settings.max_media_bytes
    )
    media_id = new_file_id()
    await storage.save(media_id, path)
    async with request.app[PG_POOL].acquire() as connection:
        row = await queries.insert_media(connection, media_id, caller.id, content_type, size)
    media = {
        "id": row["id"],
        "url": f"/api/media/{row['id']}",
        "contentType": row["content_type"],
        "size": row["size"],
        "createdAt": iso(row["created_at"]),
    }
    return json_response({"media": media}, status=201)


@docs(tags=["media"], summary="Download an image")
async def get_media(request: web.Request) -> web.StreamResponse:
    media_id = request.match_info["id"]
    async with request.app[PG_POOL].acquire() as connection:
        row = await queries.get_media(connection, media_id)
    if row is None:
        raise NotFound("media not found")
    # Media never change once uploaded: clients and proxies may keep them for a year.
    return web.FileResponse(
        request.app[STORAGE].path(media_id),
        headers={
            "Content-Type": row["content_type"],
            "Cache-Control": "public, max-age=31536000, immutable",
            "X-Content-Type-Options": "nosniff",
        },
    )
