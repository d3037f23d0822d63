"""auth_service/roles.py: every account has a role, in its answer and its token; the database
refuses others."""

from __future__ import annotations

import asyncpg
import pytest

from tests.factories import claims, register
from tests.typing import AppClient


async def test_a_new_account_is_a_user_in_its_answer_and_token(auth: AppClient) -> None:
    user = await register(auth, "jake")
    assert user["role"] == "user"
    assert claims(user["token"])["role"] == "user"


async def test_an_unknown_role_is_refused_by_the_database(
    db: asyncpg.Connection, auth: AppClient
) -> None:
    await register(auth, "jake")
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute("UPDATE auth.users SET role = 'king' WHERE username = 'jake'")
