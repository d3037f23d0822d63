"""The app keys of the gateway."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from gateway.docs import DocsCache
    from gateway.proxy import Proxy
    from gateway.settings import GatewaySettings

PROXY: web.AppKey[Proxy] = web.AppKey("proxy")
DOCS: web.AppKey[DocsCache] = web.AppKey("docs")
GATEWAY_SETTINGS: web.AppKey[GatewaySettings] = web.AppKey("gateway_settings")
