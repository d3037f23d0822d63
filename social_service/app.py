"""Wires social_service."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from social_service.settings import SocialSettings
from shared.app import create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: SocialSettings) -> web.Application:
    return create_service_app(
        settings.common,
        title="Chop-chop social",
        routes=[],
        schema="social",
        migrations=MIGRATIONS,
        events=True,
    )
