"""`python -m auth_service.admin NAME ROLE`: sets a user's role (`user`, `moderator` or
`admin`) from the command line; the first admin is made this way. Ends the user's sessions."""

from __future__ import annotations

import argparse
import asyncio
import sys

from auth_service.avatar import avatar_url
from auth_service.roles import ROLES, set_role
from auth_service.settings import AuthSettings
from shared.contracts.revocation import announce
from shared.data.postgres import create_pool
from shared.data.redis import create_redis
from shared.web.errors import NotFound


async def main(username: str, role: str) -> int:
    settings = AuthSettings.from_env()
    pool = await create_pool(settings.common, "auth")
    try:
        async with pool.acquire() as connection, connection.transaction():
            try:
                user, revoked = await set_role(
                    connection, username, role, avatar_url(settings.public_url)
                )
            except NotFound:
                print(f"no user named {username}", file=sys.stderr)
                return 1
    finally:
        await pool.close()
    redis = create_redis(settings.common.redis_url.get())
    try:
        await announce(redis, revoked)
    except Exception as exc:
        print(f"sessions ended; gateways learn it on their next resync ({exc!r})", file=sys.stderr)
    finally:
        await redis.aclose()
    print(f"{user['username']} is now {role}; {len(revoked)} session(s) ended")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m auth_service.admin", description=__doc__)
    parser.add_argument("name", help="the username")
    parser.add_argument("role", choices=ROLES)
    arguments = parser.parse_args()
    sys.exit(asyncio.run(main(arguments.name, arguments.role)))
