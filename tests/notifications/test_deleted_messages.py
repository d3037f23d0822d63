"""A chat message's mentions go with it when it is deleted, through the gateway (two chat
replicas behind it), as a deleted recipe's and comment's notifications do."""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.e2e.test_chat import general_of
from tests.e2e.test_moderation import as_role
from tests.e2e.test_realworld import call, signup
from tests.infra import Infra
from tests.notifications.live import listed, notifications_of


def mentions(found: list[dict[str, Any]]) -> list[int]:
    return [n["message"]["id"] for n in found if n["type"] == "mentioned"]


async def test_a_deleted_chat_message_takes_its_mentions_and_a_moderators_reason_stays(
    api: aiohttp.ClientSession, infra: Infra
) -> None:
    mod = await as_role(api, infra, "mod", "moderator")
    anna = await signup(api, "anna")
    bob = await signup(api, "bob")
    general = await general_of(api, anna)
    path = f"/api/chats/{general}/messages"
    sent = []
    for text in ("@bob one", "@bob two", "@bob three"):
        status, body = await call(api, "POST", path, anna, json={"message": {"body": text}})
        assert status == 201, body
        sent.append(body["message"]["id"])
    assert sorted(mentions(await listed(api, bob, 3))) == sorted(sent)

    by_author, _ = await call(api, "DELETE", f"{path}/{sent[0]}", anna)
    by_mod, _ = await call(api, "DELETE", f"{path}/{sent[1]}?reason=spam", mod)
    left = await notifications_of(api, bob)

    assert (by_author, by_mod) == (204, 204)
    assert mentions(left["notifications"]) == [sent[2]]
    assert left["unreadCount"] == 1
    # The author is told why the moderator removed the message: that notification stays.
    (told,) = await listed(api, anna, 1)
    assert (told["type"], told["reason"], told["message"]["id"]) == ("moderation", "spam", sent[1])
