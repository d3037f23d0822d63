"""social_service's calls to other services' internal routes: auth's public profiles only,
batched and cached by the shared reader (shared/contracts/profiles.py) that this client
serves."""

from __future__ import annotations

from shared.transport.internal import InternalClient
from social_service.settings import SocialSettings


def internal_client(settings: SocialSettings) -> InternalClient:
    """The one client of every internal call of a social process."""
    return InternalClient(
        {"auth": settings.auth_urls},
        timeout=settings.internal_timeout,
        keys=settings.common.internal_keys,
        issuer="social",
    )
