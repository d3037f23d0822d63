"""Every URL of chat_service. The chat features arrive with their issue; the service already
starts, migrates its schema and answers its operational routes."""

from aiohttp import web

ROUTES: list[web.RouteDef] = []
