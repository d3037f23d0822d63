"""Sending one socket what it missed of a chat, from the database, without a gap or a
duplicate where the replay meets live delivery (see `sockets.Client`'s windows)."""

from __future__ import annotations

import asyncpg

from chat_service import compose
from chat_service.live.sockets import Client, text_frame
from chat_service.queries import chats as q_chats
from chat_service.queries import messages as q_messages

REPLAY_PAGE = 100  # messages per read


async def replay(
    pool: asyncpg.Pool, client: Client, chat_id: int, after: int, *, announce: bool
) -> None:
    """Sends one socket the messages of a chat after `after` it was not sent yet, then what
    arrived live meanwhile; `announce` ends it with a `resumed` event."""
    client.begin_replay(chat_id)
    sent = after
    upto = after
    try:
        async with pool.acquire() as connection:
            upto = (await q_chats.last_seqs(connection, [chat_id])).get(chat_id, 0)
            window = client.windows.get(chat_id)
            while sent < upto and not client.closed:
                page = await q_messages.messages_after(connection, chat_id, sent, REPLAY_PAGE, upto)
                if not page:
                    break
                for row in page:
                    if window is None or not window.low < row["seq"] <= window.high:
                        await client.push_paced(
                            text_frame(compose.event("message.created", compose.message(row)))
                        )
                sent = page[-1]["seq"]
        sent = max(sent, upto)
    finally:
        high = client.end_replay(chat_id, after, sent)
    if announce:
        client.send(compose.event("resumed", {"chatId": chat_id, "lastSeq": high}))
