"""The sockets of one replica: which chats and users it must stay subscribed to."""

from __future__ import annotations

import asyncio
from typing import cast

from aiohttp import web
from aiohttp.base_protocol import BaseProtocol

from chat_service.live.registry import Registry
from chat_service.live.sockets import Client


def device(user_id: int) -> Client:
    """A socket as the registry sees it: a user and a device (the registry never writes)."""
    return Client(
        cast(web.WebSocketResponse, None),
        cast(asyncio.Transport, None),
        cast(BaseProtocol, None),
        user_id,
        f"user{user_id}",
        queue_size=8,
    )


def test_a_users_first_device_is_told_apart_from_the_next() -> None:
    registry = Registry()
    assert registry.add(device(1)) is True
    assert registry.add(device(1)) is False
    assert registry.add(device(2)) is True


def test_following_answers_only_the_chats_new_to_this_replica() -> None:
    registry = Registry()
    anna, jake = device(1), device(2)
    registry.add(anna)
    registry.add(jake)
    assert registry.follow(anna, [10, 11]) == [10, 11]
    assert registry.follow(jake, [11, 12]) == [12]
    assert anna.chats == {10, 11}
    assert jake.chats == {11, 12}


def test_a_chat_is_let_go_when_its_last_local_member_leaves() -> None:
    registry = Registry()
    anna, jake = device(1), device(2)
    for client in (anna, jake):
        registry.add(client)
        registry.follow(client, [10])
    assert registry.unfollow(10, 1) is False
    assert registry.unfollow(10, 2) is True
    assert registry.unfollow(10, 2) is False  # nobody followed it any more


def test_removing_a_users_last_device_lets_go_of_the_chats_only_they_followed() -> None:
    registry = Registry()
    phone, laptop, jake = device(1), device(1), device(2)
    for client in (phone, laptop, jake):
        registry.add(client)
    registry.follow(phone, [10, 11])
    registry.follow(laptop, [10, 11])
    registry.follow(jake, [11])
    assert registry.remove(phone) == (False, [])
    assert registry.remove(laptop) == (True, [10])
    assert registry.members == {11: {2}}
    assert registry.of_user(1) == []
    assert laptop.chats == set()


def test_a_chats_sockets_are_its_local_members_devices_but_the_skipped_users() -> None:
    registry = Registry()
    phone, laptop, jake, other = device(1), device(1), device(2), device(3)
    for client in (phone, laptop, jake, other):
        registry.add(client)
    for client in (phone, laptop, jake):
        registry.follow(client, [10])
    registry.follow(other, [11])
    assert set(registry.in_chat(10)) == {phone, laptop, jake}
    assert set(registry.in_chat(10, skip_user=1)) == {jake}
    assert list(registry.in_chat(99)) == []


def test_devices_lists_every_socket_with_its_user() -> None:
    registry = Registry()
    phone, laptop, jake = device(1), device(1), device(2)
    for client in (phone, laptop, jake):
        registry.add(client)
    assert sorted(registry.devices()) == sorted(
        [(1, phone.device_id), (1, laptop.device_id), (2, jake.device_id)]
    )
    assert set(registry.every()) == {phone, laptop, jake}
