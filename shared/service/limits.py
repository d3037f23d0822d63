"""The process's limits, raised where a server needs them.

Every open socket is a descriptor, and a websocket tunnelled by the gateway is two there (the
client's and the upstream leg) and one in the chat replica. Linux starts most processes with a
soft limit of 1,024 open files, far below the hard limit (often 20,000 to 1,048,576): a
server that kept the soft one would refuse its 1,025th connection with EMFILE. Every process
that serves sockets raises its soft limit to the hard one as it starts, whatever started it
(`make run`, the image, compose, Kubernetes), so no deployment file has to.
"""

from __future__ import annotations

import logging

try:
    import resource
except ImportError:  # pragma: no cover - not on Windows
    resource = None  # type: ignore[assignment]

log = logging.getLogger(__name__)


def raise_open_files_limit() -> int:
    """Raises the soft limit of open files to the hard one; returns the soft limit now in
    force (-1 where the platform has none)."""
    if resource is None:  # pragma: no cover
        return -1
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        # Linux refuses an unlimited soft value for this one; its kernel ceiling is nr_open.
        try:
            with open("/proc/sys/fs/nr_open") as ceiling:
                hard = int(ceiling.read())
        except (OSError, ValueError):
            return soft
    if soft != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError) as exc:
            log.warning("open files limit not raised", extra={"error": repr(exc)})
            return soft
        return hard
    return soft
