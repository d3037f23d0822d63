"""History: the last page by default, and pages before or after a message or a seq without gap or duplicate."""

from __future__ import annotations

import pytest

from tests.chat_service.conftest import send
from tests.chat_service.helpers import group_of, history, send_many, seqs
from tests.services import Users
from tests.typing import AppClient


async def test_history_is_the_last_20_oldest_first(chat: AppClient, users: Users) -> None:
    await users.add("jake")
    soups = await group_of(chat, users, "jake")
    await send_many(chat, users["jake"], soups, 1, 30)
    page = await history(chat, users["jake"], soups)
    assert seqs(page) == list(range(11, 31))
    assert [m["body"] for m in page[:2]] == ["m11", "m12"]


async def test_paging_back_while_messages_arrive_joins_without_gap_or_duplicate(
    chat: AppClient, users: Users
) -> None:
    await users.add("jake", "anna")
    soups = await group_of(chat, users, "jake", "anna")
    await send_many(chat, users["jake"], soups, 1, 30)
    page = await history(chat, users["anna"], soups)
    seen = page
    arrived = 30
    while page:
        # Someone writes between two pages: the page back is not shifted by it.
        arrived += 1
        await send(chat, users["jake"], soups, f"m{arrived}")
        page = await history(chat, users["anna"], soups, before=seen[0]["id"], limit=7)
        seen = page + seen
    assert seqs(seen) == list(range(1, 31))
    assert [m["body"] for m in seen] == [f"m{n}" for n in range(1, 31)]
    newer = await history(chat, users["anna"], soups, afterSeq=30)
    assert seqs(newer) == list(range(31, arrived + 1))


async def test_after_a_message_come_the_ones_sent_after_it(chat: AppClient, users: Users) -> None:
    await users.add("jake")
    soups = await group_of(chat, users, "jake")
    sent = await send_many(chat, users["jake"], soups, 1, 10)
    assert seqs(await history(chat, users["jake"], soups, after=sent[3]["id"])) == list(
        range(5, 11)
    )
    assert seqs(await history(chat, users["jake"], soups, after=sent[3]["id"], limit=2)) == [5, 6]
    assert await history(chat, users["jake"], soups, after=sent[-1]["id"]) == []


async def test_after_a_seq_come_the_ones_numbered_after_it(chat: AppClient, users: Users) -> None:
    await users.add("jake")
    soups = await group_of(chat, users, "jake")
    await send_many(chat, users["jake"], soups, 1, 5)
    assert seqs(await history(chat, users["jake"], soups, afterSeq=0)) == [1, 2, 3, 4, 5]
    assert seqs(await history(chat, users["jake"], soups, afterSeq=3)) == [4, 5]
    assert await history(chat, users["jake"], soups, afterSeq=5) == []


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        # Two cursors at once.
        ({"before": "1", "after": "1"}, {"before", "after"}),
        ({"after": "1", "afterSeq": "0"}, {"after", "afterSeq"}),
        # A cursor that is not a number.
        ({"before": "yesterday"}, {"before"}),
        # A negative seq.
        ({"afterSeq": "-1"}, {"afterSeq"}),
        # Cursors beyond any id or seq the database can hold.
        ({"before": str(2**63)}, {"before"}),
        ({"after": str(2**63)}, {"after"}),
        ({"afterSeq": str(2**63)}, {"afterSeq"}),
        # A page of nothing.
        ({"limit": "0"}, {"limit"}),
        # A page over the largest.
        ({"limit": "101"}, {"limit"}),
        # A parameter the API does not know.
        ({"since": "1"}, {"since"}),
    ],
)
async def test_a_bad_history_query_is_422_naming_the_fields(
    chat: AppClient, users: Users, query: dict[str, str], fields: set[str]
) -> None:
    await users.add("jake")
    soups = await group_of(chat, users, "jake")
    await send(chat, users["jake"], soups, "hi")
    response = await chat.get(f"/api/chats/{soups}/messages", params=query, headers=users["jake"])
    assert response.status == 422
    errors = (await response.json())["errors"]
    assert fields <= set(errors), errors


@pytest.mark.parametrize("cursor", ["before", "after"])
async def test_a_cursor_that_is_not_a_message_of_this_chat_is_404(
    chat: AppClient, users: Users, cursor: str
) -> None:
    await users.add("jake")
    soups = await group_of(chat, users, "jake")
    stews = await group_of(chat, users, "jake")
    await send(chat, users["jake"], soups, "soup")
    elsewhere = await send(chat, users["jake"], stews, "stew")
    response = await chat.get(
        f"/api/chats/{soups}/messages",
        params={cursor: str(elsewhere["id"])},
        headers=users["jake"],
    )
    assert response.status == 404
