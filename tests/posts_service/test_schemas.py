"""posts_service/schemas.py: invalid articles are refused with 422 naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from tests.services import Users
from tests.typing import AppClient


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"article": {"description": "d", "body": "b"}}, "title"),
        ({"article": {"title": "t", "description": "d"}}, "body"),
        (
            {"article": {"title": "t", "description": "d", "body": "b", "complexity": "insane"}},
            "complexity",
        ),
        (
            {"article": {"title": "t", "description": "d", "body": "b", "cookingMinutes": -5}},
            "cookingMinutes",
        ),
        (
            {"article": {"title": "t", "description": "d", "body": "b", "tagList": "soup"}},
            "tagList",
        ),
        ({"article": {"title": "t", "description": "d", "body": "b", "media": ["nope"]}}, "media"),
        (
            {
                "article": {
                    "title": "t",
                    "description": "d",
                    "body": "b",
                    "ingredients": [{"quantity": "1"}],
                }
            },
            "ingredients.0.name",
        ),
    ],
)
async def test_invalid_articles_are_422(
    posts: AppClient, users: Users, payload: dict[str, Any], field: str
) -> None:
    await users.add("jake")
    response = await posts.post("/api/articles", json=payload, headers=users["jake"])
    assert response.status == 422
    assert field in (await response.json())["errors"]
