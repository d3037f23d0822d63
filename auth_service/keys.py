"""The app keys of auth_service: what its handlers and background work find in the app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from auth_service.domain import Accounts
    from auth_service.signing import KeyRing

ACCOUNTS: web.AppKey[Accounts] = web.AppKey("accounts")
KEYS: web.AppKey[KeyRing] = web.AppKey("keys")
