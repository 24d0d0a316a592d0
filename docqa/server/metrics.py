"""Prometheus metrics of one server (its own registry, no process-global state): requests by route and status,
latency, queue depth and batch sizes per model."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)


class ServerMetrics:
    """The server's counters.

    >>> metrics = ServerMetrics()
    >>> metrics.observe_request("POST", "/query", 200, 0.02)
    >>> b'docqa_requests_total{method="POST",route="/query",status="200"} 1.0' in metrics.render()
    True
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "docqa_requests", "HTTP requests answered", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "docqa_request_seconds", "HTTP request latency", ["route"], buckets=_LATENCY_BUCKETS, registry=self.registry
        )
        self.batch_size = Histogram(
            "docqa_batch_size", "Requests per model batch", ["model"], buckets=_BATCH_BUCKETS, registry=self.registry
        )
        self.queue_depth = Gauge("docqa_queue_depth", "Outstanding model requests", ["model"], registry=self.registry)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def observe_batch(self, model: str, size: int) -> None:
        self.batch_size.labels(model).observe(size)

    def track_queue(self, model: str, depth: Callable[[], int]) -> None:
        self.queue_depth.labels(model).set_function(depth)

    def render(self) -> bytes:
        return generate_latest(self.registry)
