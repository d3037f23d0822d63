"""The app keys of posts_service: what its handlers and background work find in the app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from posts_service.domain import Articles
    from posts_service.reads import ArticleReads
    from posts_service.settings import PostsSettings
    from shared.data.files import LocalStorage
    from shared.web.idempotency import Idempotency

ARTICLES: web.AppKey[Articles] = web.AppKey("articles")  # the writes
READS: web.AppKey[ArticleReads] = web.AppKey("reads")
IDEMPOTENCY: web.AppKey[Idempotency] = web.AppKey("idempotency")
STORAGE: web.AppKey[LocalStorage] = web.AppKey("storage")
POSTS_SETTINGS: web.AppKey[PostsSettings] = web.AppKey("posts_settings")
