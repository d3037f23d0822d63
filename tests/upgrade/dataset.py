"""A realistic data set written through the public API, and everything it shows read back.

Every kind of record: accounts (some edited), follows (one undone), recipes with ingredients,
tags and photos (some edited, one deleted), likes (one undone), comments (some deleted),
the general chat, a public and a private group and a direct chat with replies, edits,
deletions, comments on messages, read markers, an attachment, invite links and join
requests, and the users' read state.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import aiohttp

USERS = 10
RECIPES = 30
TAGS = ["soup", "vegan", "quick", "baking", "spicy", "breakfast"]
# Each response field that reflects the moment of the read, not a stored record.
MOMENTARY = {"online", "token", "refreshToken"}


class ApiError(AssertionError):
    pass


@dataclass
class Account:
    name: str
    password: str
    token: str
    refresh_token: str

    @property
    def email(self) -> str:
        return f"{self.name}@example.com"


@dataclass
class DataSet:
    accounts: dict[str, Account] = field(default_factory=dict)
    slugs: list[str] = field(default_factory=list)
    media: list[str] = field(default_factory=list)
    chats: dict[str, int] = field(default_factory=dict)  # general, club, secret, direct
    owners: dict[str, str] = field(default_factory=dict)  # chat -> a member who owns or reads it
    attachment: str = ""
    invites: dict[str, str] = field(default_factory=dict)  # chat -> an active invite code

    def token(self, name: str) -> str:
        return self.accounts[name].token


class Api:
    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def call(
        self,
        method: str,
        path: str,
        token: str | None = None,
        expect: tuple[int, ...] = (200, 201, 202, 204),
        **kwargs: Any,
    ) -> Any:
        headers = {"Authorization": f"Token {token}"} if token else {}
        async with self.session.request(method, path, headers=headers, **kwargs) as answer:
            if answer.status not in expect:
                raise ApiError(f"{method} {path}: {answer.status} {await answer.text()}")
            if answer.status == 204 or answer.content_length == 0:
                return None
            if answer.content_type == "application/json":
                return await answer.json()
            return hashlib.sha256(await answer.read()).hexdigest()

    async def status(self, method: str, path: str, token: str | None = None, **kw: Any) -> int:
        headers = {"Authorization": f"Token {token}"} if token else {}
        async with self.session.request(method, path, headers=headers, **kw) as answer:
            await answer.read()
            return answer.status

    async def upload(self, path: str, token: str, data: bytes, filename: str, kind: str) -> Any:
        form = aiohttp.FormData()
        form.add_field("file", data, filename=filename, content_type=kind)
        return await self.call("POST", path, token, data=form)

    async def sign_up(self, name: str, password: str) -> Account:
        body = {"user": {"username": name, "email": f"{name}@example.com", "password": password}}
        user = (await self.call("POST", "/api/users", json=body, expect=(201,)))["user"]
        return Account(name, password, user["token"], user["refreshToken"])

    async def log_in(self, account: Account, password: str | None = None) -> dict[str, Any]:
        body = {"user": {"email": account.email, "password": password or account.password}}
        user: dict[str, Any] = (await self.call("POST", "/api/users/login", json=body))["user"]
        return user

    async def send(self, data: DataSet, chat: str, name: str, body: str, **extra: Any) -> Any:
        message = {"message": {"body": body, **extra}}
        path = f"/api/chats/{data.chats[chat]}/messages"
        return (await self.call("POST", path, data.token(name), json=message))["message"]


def picture(index: int) -> bytes:
    """A small PNG of its own for each photo (the services check the signature)."""
    return b"\x89PNG\r\n\x1a\n" + bytes([index]) * 64


def name_of(index: int) -> str:
    return f"cook{index}"


async def write(api: Api) -> DataSet:
    data = DataSet()
    for index in range(USERS):
        account = await api.sign_up(name_of(index), f"secret-{index}-pass")
        data.accounts[account.name] = account
    names = list(data.accounts)
    for index, name in enumerate(names[:4]):
        profile = {"bio": f"I cook dish number {index}", "image": f"https://img.example/{name}"}
        await api.call("PUT", "/api/user", data.token(name), json={"user": profile})

    for index, name in enumerate(names):
        for step in (1, 2, 3):
            await api.call(
                "POST", f"/api/profiles/{names[(index + step) % USERS]}/follow", data.token(name)
            )
    await api.call("DELETE", f"/api/profiles/{names[1]}/follow", data.token(names[0]))

    for index in range(6):
        media = await api.upload(
            "/api/media", data.token(names[index]), picture(index), "dish.png", "image/png"
        )
        data.media.append(media["media"]["id"])

    for index in range(RECIPES + 1):
        author = names[index % USERS]
        article = {
            "title": f"Recipe {index}: {TAGS[index % len(TAGS)]} pot",
            "description": f"How we make pot number {index}",
            "body": f"Step one: heat. Step two: stir {index} times.",
            "tagList": [TAGS[index % len(TAGS)], TAGS[(index * 5 + 1) % len(TAGS)]],
            "complexity": ["easy", "medium", "hard", None][index % 4],
            "cookingMinutes": 10 + index,
            "ingredients": [
                {"name": f"ingredient {index}-{n}", "quantity": f"{n + 1} cups"}
                for n in range(2 + index % 3)
            ],
            **({"media": [data.media[index]]} if index < len(data.media) else {}),
        }
        created = await api.call(
            "POST", "/api/articles", data.token(author), json={"article": article}
        )
        data.slugs.append(created["article"]["slug"])
    # One recipe deleted; three edited (one of them retitled, so its slug follows).
    await api.call(
        "DELETE", f"/api/articles/{data.slugs.pop()}", data.token(names[RECIPES % USERS])
    )
    for index in (2, 7, 11):
        changes: dict[str, Any] = {
            "body": f"Better now, take {index}.",
            "tagList": ["edited", TAGS[0]],
        }
        if index == 7:
            changes["title"] = "Recipe seven, renamed"
        edited = await api.call(
            "PUT",
            f"/api/articles/{data.slugs[index]}",
            data.token(names[index % USERS]),
            json={"article": changes},
        )
        data.slugs[index] = edited["article"]["slug"]

    for reader, name in enumerate(names):
        for index, slug in enumerate(data.slugs):
            if (index + reader) % 4 == 0:
                await api.call("POST", f"/api/articles/{slug}/favorite", data.token(name))
    await api.call("DELETE", f"/api/articles/{data.slugs[4]}/favorite", data.token(names[0]))

    comment_ids: list[tuple[str, int, str]] = []
    for index in range(24):
        slug = data.slugs[index % 12]
        name = names[(index * 3 + 1) % USERS]
        body = f"Comment {index}" + (f", @{names[0]} look" if index == 5 else "")
        comment = await api.call(
            "POST",
            f"/api/articles/{slug}/comments",
            data.token(name),
            json={"comment": {"body": body}},
        )
        comment_ids.append((slug, comment["comment"]["id"], name))
    for slug, comment_id, name in (comment_ids[3], comment_ids[17]):
        await api.call("DELETE", f"/api/articles/{slug}/comments/{comment_id}", data.token(name))

    await write_chats(api, data)
    return data


async def write_chats(api: Api, data: DataSet) -> None:
    names = list(data.accounts)
    chats = (await api.call("GET", "/api/chats", data.token(names[0])))["chats"]
    data.chats["general"] = next(int(chat["id"]) for chat in chats if chat["type"] == "general")
    data.owners["general"] = names[0]

    sent = []
    for name in names[:6]:
        for n in range(3):
            sent.append(await api.send(data, "general", name, f"hello {n} from {name}"))
    await api.send(data, "general", names[6], "a reply", replyTo=sent[2]["id"])
    await api.send(data, "general", names[7], f"@{names[1]} are you there?")
    await edit(api, data, "general", names[0], sent[0]["id"], "hello, edited")
    await api.call(
        "DELETE",
        f"/api/chats/{data.chats['general']}/messages/{sent[4]['id']}",
        data.token(names[1]),
    )

    club = await api.call(
        "POST",
        "/api/chats",
        data.token(names[0]),
        json={
            "chat": {
                "type": "group",
                "title": "Soup club",
                "description": "Soups only",
                "private": False,
            }
        },
    )
    data.chats["club"] = int(club["chat"]["id"])
    data.owners["club"] = names[0]
    for name in names[1:3]:
        await api.call(
            "POST",
            f"/api/chats/{data.chats['club']}/members",
            data.token(names[0]),
            json={"username": name},
        )
    invite = await api.call(
        "POST",
        f"/api/chats/{data.chats['club']}/invites",
        data.token(names[0]),
        json={"invite": {}},
    )
    data.invites["club"] = invite["invite"]["code"]
    await api.call("POST", f"/api/chats/join/{invite['invite']['code']}", data.token(names[3]))
    uploaded = await api.upload(
        "/api/chat/attachments",
        data.token(names[1]),
        b"1 cup of stock\n" * 40,
        "stock.txt",
        "text/plain",
    )
    data.attachment = uploaded["attachment"]["id"]
    club_sent = [
        await api.send(data, "club", names[index % 4], f"club message {index}")
        for index in range(8)
    ]
    club_sent.append(
        await api.send(data, "club", names[1], "the stock list", attachmentId=data.attachment)
    )
    await api.send(data, "club", names[2], "replying", replyTo=club_sent[1]["id"])
    await edit(api, data, "club", names[1], club_sent[1]["id"], "club message 1, edited")
    await api.call(
        "DELETE",
        f"/api/chats/{data.chats['club']}/messages/{club_sent[3]['id']}",
        data.token(names[0]),
    )
    for index in range(3):
        path = f"/api/chats/{data.chats['club']}/messages/{club_sent[0]['id']}/comments"
        await api.call(
            "POST",
            path,
            data.token(names[index + 1]),
            json={"comment": {"body": f"thread {index}"}},
        )

    secret = await api.call(
        "POST",
        "/api/chats",
        data.token(names[4]),
        json={"chat": {"type": "group", "title": "Secret sauce", "private": True}},
    )
    data.chats["secret"] = int(secret["chat"]["id"])
    data.owners["secret"] = names[4]
    invite = await api.call(
        "POST",
        f"/api/chats/{data.chats['secret']}/invites",
        data.token(names[4]),
        json={"invite": {"expiresInSeconds": 86400}},
    )
    data.invites["secret"] = invite["invite"]["code"]
    request = await api.call(
        "POST", f"/api/chats/join/{invite['invite']['code']}", data.token(names[5]), expect=(202,)
    )
    await api.call(
        "POST",
        f"/api/chats/{data.chats['secret']}/join-requests/{request['joinRequest']['id']}/approve",
        data.token(names[4]),
    )
    await api.call(
        "POST", f"/api/chats/join/{invite['invite']['code']}", data.token(names[6]), expect=(202,)
    )
    for index in range(4):
        await api.send(data, "secret", names[4 + index % 2], f"secret {index}")

    direct = await api.call(
        "POST",
        "/api/chats",
        data.token(names[7]),
        json={"chat": {"type": "direct", "username": names[8]}},
    )
    data.chats["direct"] = int(direct["chat"]["id"])
    data.owners["direct"] = names[7]
    direct_sent = [
        await api.send(data, "direct", names[7 + index % 2], f"psst {index}") for index in range(5)
    ]
    await api.send(data, "direct", names[8], "answering", replyTo=direct_sent[0]["id"])
    await edit(api, data, "direct", names[7], direct_sent[2]["id"], "psst, edited")
    await api.call(
        "DELETE",
        f"/api/chats/{data.chats['direct']}/messages/{direct_sent[4]['id']}",
        data.token(names[7]),
    )

    # Read markers: some read everything, some part, some nothing.
    for chat, readers in (
        ("general", names[:5]),
        ("club", names[:3]),
        ("direct", names[7:8]),
        ("secret", names[4:5]),
    ):
        for index, name in enumerate(readers):
            await api.call(
                "POST",
                f"/api/chats/{data.chats[chat]}/read",
                data.token(name),
                json={"seq": 2 + index},
            )


async def edit(api: Api, data: DataSet, chat: str, name: str, message: int, body: str) -> None:
    path = f"/api/chats/{data.chats[chat]}/messages/{message}"
    await api.call("PATCH", path, data.token(name), json={"message": {"body": body}})


async def read_all(api: Api, data: DataSet, tokens: dict[str, str] | None = None) -> dict[str, Any]:
    """Every record of the data set as the API shows it, keyed by where it was read."""
    tokens = {name: account.token for name, account in data.accounts.items()} | (tokens or {})
    seen: dict[str, Any] = {}

    async def read(key: str, path: str, token: str | None = None) -> Any:
        seen[key] = await api.call("GET", path, token, expect=(200,))
        return seen[key]

    for name, token in tokens.items():
        if name not in data.accounts:
            continue
        await read(f"user {name}", "/api/user", token)
        await read(f"profile {name}", f"/api/profiles/{name}")
        await read(f"followers {name}", f"/api/profiles/{name}/followers?limit=100")
        await read(f"following {name}", f"/api/profiles/{name}/following?limit=100")
        await read(f"feed {name}", "/api/articles/feed?limit=100", token)
        await read(f"favorited {name}", f"/api/articles?favorited={name}&limit=100")
        await read(f"chats {name}", "/api/chats", token)
        await read(f"unread {name}", "/api/chats/unread", token)
    await read("users", "/api/users?limit=100")
    await read("articles", "/api/articles?limit=100")
    await read("tags", "/api/tags")
    for slug in data.slugs:
        await read(f"article {slug}", f"/api/articles/{slug}")
        await read(f"comments {slug}", f"/api/articles/{slug}/comments")
    for media in data.media:
        await read(f"media {media}", f"/api/media/{media}")
    for chat, chat_id in data.chats.items():
        token = tokens[data.owners[chat]]
        await read(f"chat {chat}", f"/api/chats/{chat_id}", token)
        messages = await read(f"messages {chat}", f"/api/chats/{chat_id}/messages?limit=100", token)
        for message in messages["messages"]:
            if message["commentsCount"]:
                await read(
                    f"thread {chat} {message['seq']}",
                    f"/api/chats/{chat_id}/messages/{message['id']}/comments",
                    token,
                )
        if chat in ("club", "secret"):
            await read(f"join requests {chat}", f"/api/chats/{chat_id}/join-requests", token)
    await read(
        "attachment", f"/api/chat/attachments/{data.attachment}", tokens[data.owners["club"]]
    )
    return seen


def differences(before: Any, after: Any, where: str = "") -> list[str]:
    """What of `before` is not in `after` the same: fields may be added, never changed or lost."""
    if isinstance(before, dict) and isinstance(after, dict):
        found = []
        for key, value in before.items():
            if key in MOMENTARY:
                continue
            if key not in after:
                found.append(f"{where}.{key}: missing")
            else:
                found += differences(value, after[key], f"{where}.{key}")
        return found
    if isinstance(before, list) and isinstance(after, list):
        if len(before) != len(after):
            return [f"{where}: {len(before)} items became {len(after)}"]
        found = []
        for index, (old, new) in enumerate(zip(before, after, strict=True)):
            found += differences(old, new, f"{where}[{index}]")
        return found
    return [] if before == after else [f"{where}: {before!r} became {after!r}"]


def gaps(seen: dict[str, Any]) -> list[str]:
    """Chats whose history is not numbered 1, 2, 3... (deleted messages keep their seq)."""
    found = []
    for key, page in seen.items():
        if key.startswith("messages "):
            seqs = [message["seq"] for message in page["messages"]]
            if seqs != list(range(1, len(seqs) + 1)):
                found.append(f"{key}: {seqs}")
    return found
