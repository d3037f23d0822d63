"""Wires chat_service."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from chat_service.routes import ROUTES
from chat_service.settings import ChatSettings
from shared.app import create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: ChatSettings) -> web.Application:
    return create_service_app(
        settings.common,
        title="Chop-chop chat",
        routes=ROUTES,
        schema="chat",
        migrations=MIGRATIONS,
    )
