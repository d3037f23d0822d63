"""The one failover policy: which replica a call goes to next, which replica is ejected, and
when a call that failed may be sent again.

The gateway's proxy, its websocket tunnel and the calls between services
(`shared/transport/internal.py`) all go over a balancer's replicas this way:

- every failed attempt ejects its replica (`Balancer.eject`), whatever the failure;
- a refused connection sent nothing: any method goes on to another replica, while any is
  left untried;
- a dropped connection (closed before a whole answer) may have been processed: only a
  repeatable call is sent again, once, to another replica (to the same one on a fresh
  socket when it is the only one: the drop is most often the race of reusing a kept-alive
  socket that the server was closing);
- a timeout is never sent again (it may still be running, and the deadline is spent), nor
  an answer that is not HTTP.

A call is repeatable when its method is idempotent, or when it is a POST with an
`Idempotency-Key` (the service answers a second run from its first: shared/web/idempotency.py),
or when its caller says so (a read sent as POST for its long id lists).
"""

from __future__ import annotations

import asyncio
import enum

import aiohttp

from shared.transport import http1
from shared.transport.balancer import Balancer, Replica

# RFC 9110 9.2.2.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class Failure(enum.Enum):
    """How far a failed attempt went; the values are the gateway's metric labels."""

    REFUSED = "connect"  # no connection was made: nothing was sent
    DROPPED = "disconnect"  # the connection closed before a whole answer
    TIMED_OUT = "timeout"  # sent, and not answered in time
    GARBLED = "protocol"  # the answer was not HTTP


def repeatable(method: str, *, idempotency_key: bool = False) -> bool:
    """Whether a request that may have been processed can be sent again."""
    return method in IDEMPOTENT_METHODS or (method == "POST" and idempotency_key)


def failure_of(exc: BaseException) -> Failure | None:
    """The kind of a transport failure (our HTTP/1.1 client's, aiohttp's, a raw stream's);
    None for anything else, which is not the replica's doing."""
    # The order matters: aiohttp's connect errors are OSErrors, its connect timeout a
    # TimeoutError.
    if isinstance(
        exc, http1.ConnectFailed | aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError
    ):
        return Failure.REFUSED
    if isinstance(exc, TimeoutError):
        return Failure.TIMED_OUT
    if isinstance(exc, http1.ProtocolError | asyncio.LimitOverrunError):
        return Failure.GARBLED
    if isinstance(exc, http1.Disconnected | aiohttp.ServerDisconnectedError | OSError):
        return Failure.DROPPED
    if isinstance(exc, asyncio.IncompleteReadError):
        return Failure.DROPPED
    return None


def may_send_again(failure: Failure, repeatable: bool) -> bool:
    """The policy for one failure, whatever replicas are left."""
    if failure is Failure.REFUSED:
        return True
    return failure is Failure.DROPPED and repeatable


class Failover:
    """One call's way over the replicas of a balancer: `next` picks a replica it has not
    tried, `failed` ejects one and says whether the call may go on.

    On every request of the gateway: slots, no list but the replicas tried.
    """

    __slots__ = ("_dropped", "balancer", "repeatable", "tried")

    def __init__(self, balancer: Balancer, repeatable: bool) -> None:
        self.balancer = balancer
        self.repeatable = repeatable
        self.tried: list[Replica] = []
        self._dropped = False  # a dropped call is sent again once at the most

    def next(self) -> Replica | None:
        """The replica of the next attempt; None once every replica was tried."""
        replica = self.balancer.pick(self.tried)
        if replica is not None:
            self.tried.append(replica)
        return replica

    def failed(self, replica: Replica, failure: Failure) -> bool:
        """Ejects the replica; whether the call may be sent again (to the next one)."""
        self.balancer.eject(replica)
        if not may_send_again(failure, self.repeatable):
            return False
        if failure is Failure.REFUSED:
            return len(self.tried) < len(self.balancer.replicas)
        if self._dropped:
            return False
        self._dropped = True
        if len(self.balancer.replicas) == 1:
            self.tried.remove(replica)  # the only replica: once more, on a fresh socket
        return True
