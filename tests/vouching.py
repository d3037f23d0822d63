"""What the gateway adds to every request it forwards, for tests that call a service directly.

A service believes identity headers only with the gateway's signature over them
(shared/web/internal_auth.py): a test that plays the gateway signs its requests as the
gateway does, with the key of the services it started in this process."""

from __future__ import annotations

from aiohttp import ClientHandlerType, ClientRequest, ClientResponse

from devstack.infra import run_internal_key
from shared.web import internal_auth


async def as_gateway(request: ClientRequest, handler: ClientHandlerType) -> ClientResponse:
    """A client middleware: signs the request's identity headers as the gateway would,
    unless the test set the credential itself."""
    if internal_auth.HEADER not in request.headers:
        request.headers[internal_auth.HEADER] = internal_auth.sign(
            run_internal_key(),
            internal_auth.GATEWAY,
            request.method,
            request.url.raw_path,
            request.headers,
        )
    return await handler(request)


VOUCHED = (as_gateway,)


def vouched(method: str, path: str, headers: dict[str, str]) -> dict[str, str]:
    """The headers with the gateway's credential for this request, for a test that writes
    its request by hand (a raw websocket handshake)."""
    proof = internal_auth.sign(run_internal_key(), internal_auth.GATEWAY, method, path, headers)
    return {**headers, internal_auth.HEADER: proof}
