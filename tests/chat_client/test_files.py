"""A file from one user to another through the real stack: upload, message, download."""

from __future__ import annotations

import os
import re
from pathlib import Path

from tests.chat_client.conftest import ChatUser, MakeUser


def attachment_id(text: str) -> str:
    found = re.search(r"as attachment (\w+) ", text)
    assert found, text
    return found.group(1)


async def test_a_file_sent_by_one_user_downloads_to_the_same_bytes_for_the_other(
    alice: ChatUser, bob: ChatUser, tmp_path: Path
) -> None:
    original = tmp_path / "recipe notes.bin"
    original.write_bytes(os.urandom(200_000) + b"\x00end")

    sent = await alice.ok("upload", str(original), "--to", "bob", "--text", "the recipe")
    assert re.fullmatch(
        r"uploaded recipe notes\.bin \(195\.3 KB\) as attachment \w+ and sent it to bob "
        r"in message #\d+\n",
        sent.out,
    )
    number = attachment_id(sent.out)

    history = await bob.ok("history", "alice")
    assert history.lines[-1].endswith(
        f"alice: the recipe [file {number}: recipe notes.bin, 195.3 KB]"
    )
    saved = await bob.ok("download", number)

    copy = bob.home / "recipe notes.bin"
    assert saved.out == "saved recipe notes.bin (195.3 KB)\n"
    assert copy.read_bytes() == original.read_bytes()


async def test_a_download_does_not_overwrite_a_file_unless_forced(
    alice: ChatUser, bob: ChatUser, tmp_path: Path
) -> None:
    original = tmp_path / "photo.txt"
    original.write_text("a picture of soup")
    number = attachment_id((await alice.ok("upload", str(original), "--to", "bob")).out)
    target = tmp_path / "mine.txt"
    target.write_text("keep me")

    refused = await bob.run("download", number, "-o", str(target))
    assert (refused.code, refused.err) == (
        1,
        f"chopchop-chat: {target} already exists; pass --force to replace it\n",
    )
    assert target.read_text() == "keep me"

    await bob.ok("download", number, "-o", str(target), "--force")
    assert target.read_text() == "a picture of soup"


async def test_a_user_outside_the_chat_cannot_download_its_file(
    alice: ChatUser, bob: ChatUser, make_user: MakeUser, tmp_path: Path
) -> None:
    original = tmp_path / "secret.txt"
    original.write_text("for bob only")
    number = attachment_id((await alice.ok("upload", str(original), "--to", "bob")).out)
    carol = make_user("carol")
    await carol.register()

    refused = await carol.run("download", number)

    assert refused.code == 1 and refused.err.startswith("chopchop-chat: ")
    assert "Traceback" not in refused.err
    assert not (carol.home / "secret.txt").exists()


async def test_the_target_is_checked_before_the_file_is_asked_for(
    alice: ChatUser, bob: ChatUser, tmp_path: Path
) -> None:
    target = tmp_path / "taken.txt"
    target.write_text("keep me")
    # No such attachment: the refusal is about the file here, so the server was not asked.
    refused = await bob.run("download", "no-such-attachment", "-o", str(target))
    assert (refused.code, refused.err) == (
        1,
        f"chopchop-chat: {target} already exists; pass --force to replace it\n",
    )

    # Into a folder, the name comes from the server: it is asked for without the body.
    original = tmp_path / "soup.txt"
    original.write_text("a bowl")
    number = attachment_id((await alice.ok("upload", str(original), "--to", "bob")).out)
    bob.home.mkdir(parents=True, exist_ok=True)
    (bob.home / "soup.txt").write_text("mine")
    again = await bob.run("download", number)
    assert (again.code, again.err) == (
        1,
        "chopchop-chat: soup.txt already exists; pass --force to replace it\n",
    )
    assert (bob.home / "soup.txt").read_text() == "mine"
    assert not [p for p in bob.home.iterdir() if p.name.endswith(".part")]
