"""The app keys of social_service: what its handlers and background work find in the app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from social_service.domain import Social

SOCIAL: web.AppKey[Social] = web.AppKey("social")
