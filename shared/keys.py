"""The app keys of what every service holds: its settings, database pool and Redis clients.

They live apart from the modules that fill them, so that anything below the app factory can
read them without importing the factory.
"""

from __future__ import annotations

import asyncpg
import redis.asyncio as aioredis
from aiohttp import web

from shared.settings import CommonSettings
from shared.transport.redis_pipeline import PipelinedRedis

SETTINGS: web.AppKey[CommonSettings] = web.AppKey("settings", CommonSettings)
PG_POOL: web.AppKey[asyncpg.Pool] = web.AppKey("pg_pool", asyncpg.Pool)
REDIS: web.AppKey[aioredis.Redis] = web.AppKey("redis", aioredis.Redis)
# The hot paths' Redis commands on one pipelined connection (shared/transport/redis_pipeline.py).
PIPELINED_REDIS: web.AppKey[PipelinedRedis] = web.AppKey("pipelined_redis", PipelinedRedis)
