"""The sockets of this replica: each user's devices, and which local users follow each chat.
Bookkeeping only; the hub subscribes and unsubscribes by what it answers."""

from __future__ import annotations

from collections.abc import Iterator

from chat_service.live.sockets import Client


class Registry:
    def __init__(self) -> None:
        self.clients: dict[int, set[Client]] = {}  # user -> their sockets here
        self.members: dict[int, set[int]] = {}  # chat -> local users attached to it

    def add(self, client: Client) -> bool:
        """Registers a socket; True when it is its user's first here."""
        first = client.user_id not in self.clients
        self.clients.setdefault(client.user_id, set()).add(client)
        return first

    def follow(self, client: Client, chat_ids: list[int]) -> list[int]:
        """Attaches the socket (and its user) to these chats; returns those that no local
        user followed before."""
        new = [chat_id for chat_id in chat_ids if chat_id not in self.members]
        for chat_id in chat_ids:
            self.members.setdefault(chat_id, set()).add(client.user_id)
            client.chats.add(chat_id)
        return new

    def remove(self, client: Client) -> tuple[bool, list[int]]:
        """Forgets a socket. Returns whether it was its user's last here, and the chats that
        no local user follows any more."""
        devices = self.clients.get(client.user_id)
        last = False
        unfollowed: list[int] = []
        if devices is not None:
            devices.discard(client)
            if not devices:
                last = True
                del self.clients[client.user_id]
                unfollowed = [
                    chat_id
                    for chat_id in list(client.chats)
                    if self.unfollow(chat_id, client.user_id)
                ]
        client.chats.clear()
        return last, unfollowed

    def unfollow(self, chat_id: int, user_id: int) -> bool:
        """Detaches a user from a chat; True when no local user follows it any more."""
        members = self.members.get(chat_id)
        if members is None:
            return False
        members.discard(user_id)
        if members:
            return False
        del self.members[chat_id]
        return True

    def of_user(self, user_id: int) -> list[Client]:
        return list(self.clients.get(user_id, ()))

    def in_chat(self, chat_id: int, skip_user: int | None = None) -> Iterator[Client]:
        """The sockets of the chat's local members (but one user's). Iterates the live sets:
        the caller must not follow or unfollow meanwhile."""
        for user_id in self.members.get(chat_id, ()):
            if user_id != skip_user:
                yield from self.clients.get(user_id, ())

    def every(self) -> list[Client]:
        return [client for clients in self.clients.values() for client in clients]

    def devices(self) -> list[tuple[int, str]]:
        """(user, device) of every socket of this replica."""
        return [(client.user_id, client.device_id) for client in self.every()]
