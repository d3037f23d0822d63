"""Files in chats: the size limit, who may download and attach them, and orphans removed."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from tests.chat_service.conftest import general_id, group, send
from tests.chat_service.helpers import Replicas, attachment, upload
from tests.services import Users
from tests.typing import AppClient
from tests.waiting import until


async def test_an_upload_over_the_limit_is_413_and_leaves_no_file(
    replicas: Replicas, users: Users, tmp_path: Path
) -> None:
    files = tmp_path / "attachments"
    (chat,) = await replicas(1, CHAT_ATTACHMENTS_DIR=str(files))
    await users.add("jake")
    limit = 5 * 1024 * 1024

    too_big = await upload(chat, users["jake"], b"\0" * (limit + 1), name="big.bin")
    exact = await upload(chat, users["jake"], b"\0" * limit, name="fits.bin")

    assert too_big.status == 413
    assert (await too_big.json())["errors"]["body"]
    assert exact.status == 201
    stored = [p for p in files.rglob("*") if p.is_file()]
    assert [p.name for p in stored] == [(await exact.json())["attachment"]["id"]]


# Parts beside the one `file` part that the document allows (a schemathesis run found an
# unnamed part before the file accepted); each case: the parts in order, the field named.
EXTRA_PARTS = [
    ([("", b"{}"), ("file", b"notes")], None),  # an unnamed part before the file
    ([("file", b"notes"), ("title", b"x")], "title"),  # a named one after it
    ([("file", b"notes"), ("file", b"more")], "file"),  # the file twice
    ([("caption", b"x")], "caption"),  # no file at all, but another part
]


@pytest.mark.parametrize(("parts", "field"), EXTRA_PARTS)
async def test_an_upload_with_other_parts_than_one_file_is_422_and_leaves_no_file(
    replicas: Replicas,
    users: Users,
    tmp_path: Path,
    parts: list[tuple[str, bytes]],
    field: str | None,
) -> None:
    files = tmp_path / "attachments"
    (chat,) = await replicas(1, CHAT_ATTACHMENTS_DIR=str(files))
    await users.add("jake")
    form = aiohttp.FormData()
    for name, data in parts:
        form.add_field(name, io.BytesIO(data), filename="notes.txt", content_type="text/plain")

    response = await chat.post("/api/chat/attachments", data=form, headers=users["jake"])

    assert response.status == 422
    errors = (await response.json())["errors"]
    assert "one part named 'file'" in errors["body"][0] or field == "file"
    if field is not None:
        assert set(errors) == {"body", field}
    assert not [p for p in files.rglob("*") if p.is_file()]


async def test_a_file_is_downloaded_by_members_only_as_an_attachment(
    chat: AppClient, users: Users
) -> None:
    await users.add("jake", "anna", "eve")
    soups = await group(chat, users["jake"], private=True, members=["anna"])
    page = b"<script>alert(1)</script>"
    file = await attachment(chat, users["jake"], page, name='ré"sumé.html', kind="text/html")
    message = await send(chat, users["jake"], soups["id"], "", attachmentId=file["id"])

    by_anna = await chat.get(f"/api/chat/attachments/{file['id']}", headers=users["anna"])
    by_eve = await chat.get(f"/api/chat/attachments/{file['id']}", headers=users["eve"])
    unknown = await chat.get("/api/chat/attachments/0123abcd", headers=users["anna"])

    assert message["attachment"] == file
    assert file["filename"] == "ré_sumé.html"
    assert by_anna.status == 200
    assert await by_anna.read() == page
    assert by_anna.headers["Content-Type"].startswith("application/octet-stream")
    assert by_anna.headers["X-Content-Type-Options"] == "nosniff"
    disposition = by_anna.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="r_')
    assert "filename*=UTF-8''r%C3%A9_sum%C3%A9.html" in disposition
    assert (by_eve.status, unknown.status) == (404, 404)


async def test_only_the_uploader_can_attach_a_file(chat: AppClient, users: Users) -> None:
    await users.add("jake", "anna")
    general = await general_id(chat, users["jake"])
    file = await attachment(chat, users["jake"], b"mine")
    response = await chat.post(
        f"/api/chats/{general}/messages",
        json={"message": {"body": "look", "attachmentId": file["id"]}},
        headers=users["anna"],
    )
    assert response.status == 422
    assert "attachmentId" in (await response.json())["errors"]


async def test_a_file_never_attached_is_removed_after_a_while(
    replicas: Replicas, users: Users, tmp_path: Path
) -> None:
    files = tmp_path / "attachments"
    (chat,) = await replicas(1, CHAT_ATTACHMENTS_DIR=str(files), CHAT_ATTACHMENT_ORPHAN_TTL="1")
    await users.add("jake")
    general = await general_id(chat, users["jake"])
    orphan = await attachment(chat, users["jake"], b"forgotten")
    kept = await attachment(chat, users["jake"], b"posted")
    await send(chat, users["jake"], general, "with a file", attachmentId=kept["id"])

    await until(lambda: not (files / orphan["id"]).exists(), timeout=10)
    assert (files / kept["id"]).exists()


async def test_deleting_a_group_removes_its_files(
    replicas: Replicas, users: Users, tmp_path: Path
) -> None:
    # Issue 23: the files of a deleted group stayed on disk, downloadable by the uploader.
    files = tmp_path / "attachments"
    (chat,) = await replicas(1, CHAT_ATTACHMENTS_DIR=str(files))
    await users.add("jake", "anna")
    soups = await group(chat, users["jake"], members=["anna"])
    mine = await attachment(chat, users["jake"], b"jake's")
    hers = await attachment(chat, users["anna"], b"anna's")
    await send(chat, users["jake"], soups["id"], "", attachmentId=mine["id"])
    await send(chat, users["anna"], soups["id"], "", attachmentId=hers["id"])

    deleted = await chat.delete(f"/api/chats/{soups['id']}", headers=users["jake"])

    assert deleted.status == 204
    assert not (files / mine["id"]).exists()
    assert not (files / hers["id"]).exists()
    download = await chat.get(f"/api/chat/attachments/{mine['id']}", headers=users["jake"])
    assert download.status == 404


async def test_the_last_member_leaving_removes_the_chats_files(
    replicas: Replicas, users: Users, tmp_path: Path
) -> None:
    files = tmp_path / "attachments"
    (chat,) = await replicas(1, CHAT_ATTACHMENTS_DIR=str(files))
    await users.add("jake")
    soups = await group(chat, users["jake"])
    file = await attachment(chat, users["jake"], b"notes")
    await send(chat, users["jake"], soups["id"], "", attachmentId=file["id"])

    left = await chat.delete(f"/api/chats/{soups['id']}/members/jake", headers=users["jake"])

    assert left.status == 204
    assert not (files / file["id"]).exists()


async def test_a_file_posted_in_two_chats_stays_while_one_shows_it(
    replicas: Replicas, users: Users, tmp_path: Path
) -> None:
    files = tmp_path / "attachments"
    (chat,) = await replicas(1, CHAT_ATTACHMENTS_DIR=str(files))
    await users.add("jake")
    general = await general_id(chat, users["jake"])
    soups = await group(chat, users["jake"])
    file = await attachment(chat, users["jake"], b"shared")
    await send(chat, users["jake"], soups["id"], "", attachmentId=file["id"])
    await send(chat, users["jake"], general, "", attachmentId=file["id"])

    await chat.delete(f"/api/chats/{soups['id']}", headers=users["jake"])

    assert (files / file["id"]).exists()


async def test_deleting_an_account_removes_all_its_files(
    replicas: Replicas, users: Users, tmp_path: Path
) -> None:
    files = tmp_path / "attachments"
    (chat,) = await replicas(1, CHAT_ATTACHMENTS_DIR=str(files))
    await users.add("jake", "anna")
    soups = await group(chat, users["anna"], members=["jake"])
    posted = await attachment(chat, users["jake"], b"posted")
    scheduled = await attachment(chat, users["jake"], b"later")
    never = await attachment(chat, users["jake"], b"never posted")
    await send(chat, users["jake"], soups["id"], "look", attachmentId=posted["id"])
    await send(
        chat,
        users["jake"],
        soups["id"],
        "",
        attachmentId=scheduled["id"],
        sendAt=(datetime.now(UTC) + timedelta(hours=1)).isoformat(),
    )

    gone = await users.auth.delete("/api/user", headers=users["jake"])

    assert gone.status == 204
    ids = [file["id"] for file in (posted, scheduled, never)]
    await until(lambda: not any((files / name).exists() for name in ids), timeout=10)
    shown = await chat.get(f"/api/chats/{soups['id']}/messages", headers=users["anna"])
    (tombstone,) = (await shown.json())["messages"]
    assert tombstone["deleted"] is True
    assert tombstone["attachment"] is None
