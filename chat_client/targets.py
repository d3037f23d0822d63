"""Which chat a command means: the general chat, a direct chat with a user, or a chat named
by its id or title."""

from __future__ import annotations

from chat_client.api import ChatApi
from chat_client.errors import ClientError
from chat_client.models import Chat, chat_title

GENERAL = "general"


def pick_chat(chats: list[Chat], name: str) -> Chat:
    """A numeric name is an id first; otherwise titles match without regard to case, and
    "general" always means the general chat."""
    wanted = name.strip()
    if wanted.isdigit():
        for chat in chats:
            if chat["id"] == int(wanted):
                return chat
    if wanted.lower() == GENERAL:
        for chat in chats:
            if chat["type"] == GENERAL:
                return chat
    matches = [chat for chat in chats if chat_title(chat).lower() == wanted.lower()]
    if len(matches) == 1:
        return matches[0]
    if matches:
        # Two groups may share a title; guessing would post to the wrong people.
        ids = ", ".join(str(chat["id"]) for chat in matches)
        raise ClientError(f"several chats are called {name!r} (ids {ids}); name one by its id")
    raise ClientError(f"you have no chat called {name!r}; `chopchop-chat chats` lists yours")


async def find_chat(api: ChatApi, name: str | None) -> Chat:
    """The chat called `name`, or the general chat when no name is given."""
    return pick_chat(await api.list_chats(), name or GENERAL)


async def resolve_target(api: ChatApi, *, to: str | None, chat: str | None) -> Chat:
    """Where a message goes: `--to USER` (a direct chat, opened if need be), `--chat NAME`,
    or the general chat."""
    if to is not None:
        return await api.open_direct(to.lstrip("@"))
    return await find_chat(api, chat)
