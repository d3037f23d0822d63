"""auth_service/admin.py: the command that sets a role."""

from __future__ import annotations

import asyncpg
import pytest

from auth_service import admin
from tests.factories import claims, register
from tests.infra import Infra
from tests.typing import AppClient


async def test_the_admin_command_sets_a_role_and_ends_the_sessions(
    auth: AppClient,
    infra: Infra,
    db: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    user = await register(auth, "alice")
    for name, value in infra.env().items():
        monkeypatch.setenv(name, value)

    status = await admin.main("alice", "moderator")
    again = await admin.main("alice", "moderator")
    nobody = await admin.main("nobody", "admin")

    assert (status, again, nobody) == (0, 0, 1)
    assert "alice is now moderator; 1 session(s) ended" in capsys.readouterr().out
    session = claims(user["token"])["sid"]
    revoked = await db.fetchval("SELECT revoked_at FROM auth.sessions WHERE id = $1::uuid", session)
    assert revoked is not None
    login = await auth.post(
        "/api/users/login", json={"user": {"email": "alice@example.com", "password": "jakejake1"}}
    )
    signed_in = (await login.json())["user"]
    assert signed_in["role"] == "moderator"
    assert claims(signed_in["token"])["role"] == "moderator"
