"""What can go wrong, as exceptions that the command line prints as one sentence each.

Each kind has its own exit status so that scripts can tell "the gateway said no" from
"the gateway is not there" from "log in again".
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

EXIT_FAILED = 1  # the API refused (4xx) or a local problem (missing file, unknown chat)
EXIT_USAGE = 2  # argparse's own status for a bad command line
EXIT_UNREACHABLE = 3  # no gateway, or the gateway reports a service down (5xx)
EXIT_LOGIN = 4  # no session, or it can no longer be renewed
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT


class ClientError(Exception):
    """A failure the user should read about; never shown as a traceback."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ApiError(ClientError):
    """The gateway answered with an error; `messages` are the `errors.body` sentences."""

    def __init__(self, status: int, messages: list[str], retry_after: str | None = None) -> None:
        text = "; ".join(messages) if messages else f"the gateway answered {status}"
        # The server's sentence usually says when already; otherwise the header does.
        if retry_after and "again in" not in text:
            text += f" (try again in {retry_after} s)"
        super().__init__(text)
        self.status = status
        self.messages = messages
        self.retry_after = retry_after
        if status >= 500:
            self.exit_code = EXIT_UNREACHABLE


class GatewayUnreachable(ClientError):
    exit_code = EXIT_UNREACHABLE

    def __init__(self, gateway: str, reason: str) -> None:
        super().__init__(
            f"cannot reach the gateway at {gateway} ({reason}); is it running? "
            "Set --gateway or CHOPCHOP_GATEWAY to its address."
        )
        self.gateway = gateway
        self.reason = reason


class LoginRequired(ClientError):
    exit_code = EXIT_LOGIN


@contextlib.contextmanager
def not_found_as(sentence: str) -> Iterator[None]:
    """A 404 answered to the call made inside is said as `sentence`, in the words of what was
    looked for; any other error goes on as it is."""
    try:
        yield
    except ApiError as exc:
        if exc.status == 404:
            raise ClientError(sentence) from exc
        raise
