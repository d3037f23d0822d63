"""Wires posts_service."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from posts_service.settings import PostsSettings
from shared.app import create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: PostsSettings) -> web.Application:
    return create_service_app(
        settings.common,
        title="Chop-chop posts",
        routes=[],
        schema="posts",
        migrations=MIGRATIONS,
        events=True,
    )
