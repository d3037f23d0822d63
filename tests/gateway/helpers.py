"""What several gateway test files share."""

from __future__ import annotations

from tests.gateway.conftest import Echo


def bearer(echoes: dict[str, Echo], user_id: int = 7, username: str = "jake") -> dict[str, str]:
    token = echoes["auth"].keys.issue(user_id, username, "session").token
    return {"Authorization": f"Token {token}"}
