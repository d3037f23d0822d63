"""What several posts_service test files share: article bodies, creating one, uploads."""

from __future__ import annotations

from typing import Any

from tests.typing import AppClient


def article(title: str = "Tomato soup", **extra: Any) -> dict[str, Any]:
    return {
        "article": {
            "title": title,
            "description": "A warm classic",
            "body": "Roast the tomatoes, then blend.",
            **extra,
        }
    }


async def create(
    posts: AppClient, headers: dict[str, str], title: str = "Tomato soup", **extra: Any
) -> dict[str, Any]:
    response = await posts.post("/api/articles", json=article(title, **extra), headers=headers)
    assert response.status == 201, await response.text()
    return (await response.json())["article"]  # type: ignore[no-any-return]


async def get_json(client: AppClient, path: str, **kwargs: Any) -> Any:
    response = await client.get(path, **kwargs)
    assert response.status == 200, await response.text()
    return await response.json()
