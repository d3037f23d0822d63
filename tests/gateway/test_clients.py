"""The gateway's own reads from auth (signing keys, ended sessions) follow the failover policy of
the proxy: a replica that refuses is ejected and the read goes to another."""

from __future__ import annotations

from devstack.embedded import free_port
from shared.contracts.revocation import Ended
from tests.gateway.conftest import Echo, GatewayFactory, url_of


async def test_reads_from_auth_go_on_to_a_replica_that_answers(
    make_gateway: GatewayFactory, echoes: dict[str, Echo]
) -> None:
    auth = echoes["auth"]
    signed_in = auth.keys.issue(7, "jake", "session")
    signed_out = auth.keys.issue(8, "anna", "ended")
    auth.revoked.append(Ended("ended", signed_out.expires_at))
    dead = [f"http://127.0.0.1:{free_port()}" for _ in range(2)]
    gateway = await make_gateway(AUTH_URL=",".join([*dead, url_of(auth)]))

    # Both need the signing keys, read at the first token; the second needs the list of
    # ended sessions too, read at start.
    valid = await gateway.get(
        "/api/articles/feed", headers={"Authorization": f"Token {signed_in.token}"}
    )
    ended = await gateway.get(
        "/api/articles/feed", headers={"Authorization": f"Token {signed_out.token}"}
    )

    assert valid.status == 200, await valid.text()
    assert ended.status == 401
    assert (await ended.json())["errors"]["body"] == ["the token was revoked"]
