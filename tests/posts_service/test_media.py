"""posts_service/media.py: image uploads, typed by their bytes, under a limit, shown only by their
owner's articles."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from aiohttp import FormData

from tests.posts_service.helpers import create
from tests.services import Users
from tests.typing import AppClient

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 100
GIF = b"GIF89a" + b"\x00" * 100
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 100


def upload(data: bytes, declared: str = "image/png") -> FormData:
    form = FormData()
    form.add_field("file", io.BytesIO(data), filename="picture", content_type=declared)
    return form


@pytest.mark.parametrize(
    ("data", "detected"),
    [(PNG, "image/png"), (JPEG, "image/jpeg"), (GIF, "image/gif"), (WEBP, "image/webp")],
)
async def test_images_are_typed_by_their_bytes_and_served_back(
    posts: AppClient, users: Users, data: bytes, detected: str
) -> None:
    await users.add("jake")
    response = await posts.post(
        "/api/media", data=upload(data, "text/plain"), headers=users["jake"]
    )
    assert response.status == 201
    media = (await response.json())["media"]
    assert (media["contentType"], media["size"]) == (detected, len(data))
    served = await posts.get(media["url"])
    assert served.status == 200
    assert served.headers["Content-Type"] == detected
    assert "immutable" in served.headers["Cache-Control"]
    assert await served.read() == data


async def test_a_file_that_is_not_an_image_is_422(posts: AppClient, users: Users) -> None:
    await users.add("jake")
    response = await posts.post(
        "/api/media", data=upload(b"<html>not an image</html>"), headers=users["jake"]
    )
    assert response.status == 422


async def test_an_upload_with_a_part_beside_the_file_is_422_and_leaves_nothing(
    posts: AppClient, users: Users, tmp_path: Path
) -> None:
    # A schemathesis run found an image with an extra part after it stored (201).
    await users.add("jake")
    form = upload(PNG)
    form.add_field("caption", "my soup")
    response = await posts.post("/api/media", data=form, headers=users["jake"])
    assert response.status == 422
    assert set((await response.json())["errors"]) == {"body", "caption"}
    stored = [p for p in (tmp_path / "media").rglob("*") if p.is_file()]
    assert stored == []


async def test_an_image_over_the_limit_is_413_and_leaves_nothing(
    posts: AppClient, users: Users, tmp_path: Path
) -> None:
    await users.add("jake")
    big = PNG + b"\x00" * (5 * 1024**2)
    response = await posts.post("/api/media", data=upload(big), headers=users["jake"])
    assert response.status == 413
    spool = tmp_path / "media" / ".spool"
    assert not spool.exists() or not list(spool.iterdir())


async def test_media_upload_needs_a_caller_and_multipart(posts: AppClient, users: Users) -> None:
    await users.add("jake")
    assert (await posts.post("/api/media", data=upload(PNG))).status == 401
    raw = await posts.post(
        "/api/media", data=PNG, headers={**users["jake"], "Content-Type": "image/png"}
    )
    assert raw.status == 400
    assert (await posts.get("/api/media/unknown")).status == 404


async def test_articles_may_show_only_their_authors_uploads(posts: AppClient, users: Users) -> None:
    await users.add("jake", "anna")
    media = (
        await (await posts.post("/api/media", data=upload(PNG), headers=users["anna"])).json()
    )["media"]
    refused = await posts.post(
        "/api/articles",
        json={"article": {"title": "t", "description": "d", "body": "b", "media": [media["id"]]}},
        headers=users["jake"],
    )
    assert refused.status == 422
    mine = await create(posts, users["anna"], "With a picture", media=[media["id"]])
    assert mine["media"] == [media["id"]]
