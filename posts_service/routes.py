"""Every URL of posts_service."""

from aiohttp import web

from posts_service import handlers as h

ROUTES = [
    web.get("/api/articles", h.list_articles, name="articles.list"),
    web.post("/api/articles", h.create_article, name="articles.create"),
    web.get("/api/articles/feed", h.get_feed, name="articles.feed"),
    web.get("/api/articles/{slug}", h.get_article, name="articles.get"),
    web.put("/api/articles/{slug}", h.update_article, name="articles.update"),
    web.delete("/api/articles/{slug}", h.delete_article, name="articles.delete"),
    web.post("/api/articles/{slug}/favorite", h.favorite_article, name="articles.favorite"),
    web.delete("/api/articles/{slug}/favorite", h.unfavorite_article, name="articles.unfavorite"),
    web.get("/api/articles/{slug}/comments", h.list_comments, name="comments.list"),
    web.post("/api/articles/{slug}/comments", h.add_comment, name="comments.create"),
    web.delete("/api/articles/{slug}/comments/{id}", h.delete_comment, name="comments.delete"),
    web.get("/api/tags", h.list_tags, name="tags.list"),
    web.post("/api/media", h.upload_media, name="media.upload"),
    web.get("/api/media/{id}", h.get_media, name="media.get"),
]
