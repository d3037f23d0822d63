"""An article's fields, defined once, and the forms composed from them: the article of a
response, the pre-encoded JSON fragments that a cached page keeps of its articles, and comments.

The fields that do not depend on the viewer are `ViewerFreeFields`; `ComposedArticle` adds the
viewer's and the moment's (likes, follows). A single article is built as a dict and encoded
with the response; a listed article is encoded once when its page is loaded, and every
request only appends the viewer's fields to the cached text (see `close_fragments`).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, NotRequired, TypedDict, cast

from shared.contracts.social_facts import Counts
from shared.web.jsoncodec import dumps
from shared.web.timefmt import iso


class Ingredient(TypedDict):
    name: str
    quantity: str


class PublicProfile(TypedDict):
    username: str
    bio: str | None
    image: str | None


class ComposedAuthor(PublicProfile):
    """An author as an answer shows it: with follow counts and the viewer's flag."""

    following: bool
    followersCount: int
    followingCount: int


class ViewerFreeFields(TypedDict):
    """What anyone sees of an article, in the order the API shows it."""

    slug: str
    title: str
    description: str
    tagList: list[str]
    createdAt: str
    updatedAt: str
    complexity: str | None
    cookingMinutes: int | None
    ingredients: list[Ingredient]
    media: list[str]
    body: NotRequired[str]  # single articles only: lists are read without it


class ComposedArticle(ViewerFreeFields):
    """An article as an answer shows it, composed of posts', auth's and social's data (its
    marshmallow schema, which documents it, is schemas.ArticleOut)."""

    favorited: bool
    favoritesCount: int
    author: ComposedAuthor


class ComposedComment(TypedDict):
    """A comment as an answer shows it (schemas.CommentOut)."""

    id: int
    createdAt: str
    updatedAt: str
    body: str
    author: ComposedAuthor


DELETED_AUTHOR: PublicProfile = {"username": "[deleted]", "bio": None, "image": None}

# Bumped by hand when a field keeps its name but changes its form; a change of the field
# list changes CACHE_FORMAT by itself, so a release never reads what an older one cached.
LAYOUT = 4
CACHE_FORMAT = "f{}-{:08x}".format(
    LAYOUT,
    zlib.crc32(
        ",".join([*ViewerFreeFields.__annotations__, *ComposedAuthor.__annotations__]).encode()
    ),
)


def article_fields(row: Mapping[str, Any]) -> ViewerFreeFields:
    """An article's columns (queries.LIST_COLUMNS or FULL_COLUMNS) as the API names them."""
    fields: ViewerFreeFields = {
        "slug": row["slug"],
        "title": row["title"],
        "description": row["description"],
        "tagList": list(row["tag_list"]),
        "createdAt": iso(row["created_at"]),
        "updatedAt": iso(row["updated_at"]),
        "complexity": row["complexity"],
        "cookingMinutes": row["cooking_minutes"],
        "ingredients": row["ingredients"],
        "media": list(row["media"]),
    }
    if "body" in row:
        fields["body"] = row["body"]
    return fields


def public_profile(profile: Mapping[str, Any] | None) -> PublicProfile:
    """The shown part of auth's profile; an author whose account is gone shows as deleted."""
    if profile is None:
        return DELETED_AUTHOR
    return {"username": profile["username"], "bio": profile["bio"], "image": profile["image"]}


@dataclass(frozen=True, slots=True)
class Article:
    """The viewer-independent article with its author's public profile: what the cache keeps
    (a changed profile invalidates it through the `user.updated` event)."""

    id: int
    author_id: int
    fields: ViewerFreeFields
    author: PublicProfile

    @classmethod
    def from_row(cls, row: Mapping[str, Any], author: PublicProfile) -> Article:
        return cls(row["id"], row["author_id"], article_fields(row), author)

    def stored(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "authorId": self.author_id,
            "fields": self.fields,
            "author": self.author,
        }

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any]) -> Article:
        return cls(
            stored["id"],
            stored["authorId"],
            cast(ViewerFreeFields, stored["fields"]),
            cast(PublicProfile, stored["author"]),
        )


def composed_author(profile: PublicProfile, author_id: int, counts: Counts) -> ComposedAuthor:
    """A public profile with the follow counts and whether the viewer follows it."""
    followers, following = counts.follows[author_id]
    return {
        **profile,
        "following": author_id in counts.following,
        "followersCount": followers,
        "followingCount": following,
    }


def composed_article(article: Article, counts: Counts) -> ComposedArticle:
    return {
        **article.fields,
        "favorited": article.id in counts.liked,
        "favoritesCount": counts.likes[article.id],
        "author": composed_author(article.author, article.author_id, counts),
    }


class Fragments(NamedTuple):
    """A page's listed articles as its cache keeps them, column by column: each text is an
    article's JSON up to the viewer's fields, with the author's object and the article's left
    open (see `close_fragments`). Columns rather than one tuple per article, so that a page
    read from the cache is one object to rebuild, not twenty."""

    article_ids: list[int]
    author_ids: list[int]
    texts: list[str]
    last: str | None = None  # the keyset cursor of the last article (see cursors.py)


def fragments(articles: Sequence[Article], last: str | None = None) -> Fragments:
    # The author last, so that the fields the viewer changes all come at the end of the text;
    # each text ends without the two closing braces.
    return Fragments(
        [article.id for article in articles],
        [article.author_id for article in articles],
        [dumps({**article.fields, "author": article.author})[:-2] for article in articles],
        last,
    )


_BOOL = {True: "true", False: "false"}


def close_fragments(page: Fragments, counts: Counts) -> str:
    """A page's articles as the text of a JSON array: each fragment closed with the author's
    follow fields (ComposedAuthor) and the like fields (ComposedArticle), in that order.

    Written out rather than encoded: this runs for every article of every page served from
    the cache, and building and encoding a dict per article took several times longer.
    """
    likes, follows, liked, followed = counts.likes, counts.follows, counts.liked, counts.following
    parts = []
    for article_id, author_id, text in zip(
        page.article_ids, page.author_ids, page.texts, strict=True
    ):
        followers, following = follows[author_id]
        parts.append(
            f'{text},"following":{_BOOL[author_id in followed]},'
            f'"followersCount":{followers},"followingCount":{following}}},'
            f'"favorited":{_BOOL[article_id in liked]},"favoritesCount":{likes[article_id]}}}'
        )
    return f"[{','.join(parts)}]"


def composed_comment(row: Mapping[str, Any], author: ComposedAuthor) -> ComposedComment:
    return {
        "id": row["id"],
        "createdAt": iso(row["created_at"]),
        "updatedAt": iso(row["updated_at"]),
        "body": row["body"],
        "author": author,
    }
