"""The gateway's own metrics, per upstream."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram


class GatewayMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "upstream_requests_total",
            "Requests answered by an upstream",
            ["upstream", "status"],
            registry=registry,
        )
        self.errors = Counter(
            "upstream_errors_total", "Upstream failures", ["upstream", "kind"], registry=registry
        )
        self.latency = Histogram(
            "upstream_latency_seconds",
            "Time to the upstream's response headers",
            ["upstream"],
            registry=registry,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
        )
        self.retries = Counter(
            "upstream_retries_total",
            "Requests retried on another replica",
            ["upstream"],
            registry=registry,
        )
        self.ejections = Counter(
            "upstream_ejections_total",
            "Replicas ejected after a failure",
            ["upstream"],
            registry=registry,
        )
        self.rate_limited = Counter(
            "rate_limited_total", "Requests refused by a rate limit", ["group"], registry=registry
        )
        self._answered: dict[tuple[str, int], tuple[Any, Any]] = {}
        self.guard_failures = Counter(
            "rate_limit_backend_failures_total",
            "Rate-limit and revocation checks skipped because Redis failed",
            registry=registry,
        )

    def answered(self, upstream: str, status: int, seconds: float) -> None:
        """Counts an upstream answer; label children are kept (labels() is slow per call)."""
        key = (upstream, status)
        children = self._answered.get(key)
        if children is None:
            children = (
                self.requests.labels(upstream, str(status)),
                self.latency.labels(upstream),
            )
            self._answered[key] = children
        children[0].inc()
        children[1].observe(seconds)
