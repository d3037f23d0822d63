"""Every URL of social_service."""

from aiohttp import web

from social_service import handlers as h

ROUTES = [
    web.get("/api/profiles/{username}", h.get_profile, name="profiles.get"),
    web.post("/api/profiles/{username}/follow", h.follow_user, name="profiles.follow"),
    web.delete("/api/profiles/{username}/follow", h.unfollow_user, name="profiles.unfollow"),
    web.get("/api/profiles/{username}/followers", h.list_followers, name="profiles.followers"),
    web.get("/api/profiles/{username}/following", h.list_following, name="profiles.following"),
    web.put("/internal/likes/{article_id}/{user_id}", h.like_article, name="internal.like"),
    web.delete("/internal/likes/{article_id}/{user_id}", h.unlike_article, name="internal.unlike"),
    web.post("/internal/summary", h.get_page_summary, name="internal.summary"),
    web.get(
        "/internal/users/{user_id}/liked-article-ids",
        h.list_liked_article_ids,
        name="internal.liked",
    ),
    web.get(
        "/internal/users/{user_id}/following-ids", h.list_following_ids, name="internal.following"
    ),
]
