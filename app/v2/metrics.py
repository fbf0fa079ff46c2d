"""V2 requests by protocol: ``sentiment_v2_requests_total{protocol,endpoint,status}`` and their
latency, on the service's registry (one ``/metrics`` for everything).

``protocol`` is ``rest`` or ``grpc``; ``endpoint`` one of ``ENDPOINTS`` (the same names for both);
``status`` the HTTP status for REST, the gRPC status code's name for gRPC. The model work itself
is in the shared metrics (batch size, queue, predictions, ``sentiment_rejected_total``).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from app.metrics import LATENCY_BUCKETS

ENDPOINTS = (
    "server_live",
    "server_ready",
    "server_metadata",
    "model_ready",
    "model_metadata",
    "model_infer",
)
PROTOCOLS = ("rest", "grpc")


class V2Metrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "sentiment_v2_requests", "Open Inference Protocol (V2) requests by protocol, "
            "endpoint and status.", ["protocol", "endpoint", "status"], registry=registry,
        )  # fmt: skip
        self.duration = Histogram(
            "sentiment_v2_request_duration_seconds", "V2 request latency by protocol and endpoint.",
            ["protocol", "endpoint"], buckets=LATENCY_BUCKETS, registry=registry,
        )  # fmt: skip
        # Label children resolved once per combination (``.labels`` per request is not free).
        self._counters: dict[tuple[str, str, str], Counter] = {}
        self._durations = {
            (p, e): self.duration.labels(protocol=p, endpoint=e)
            for p in PROTOCOLS
            for e in ENDPOINTS
        }
        for p in PROTOCOLS:  # the success series exist from the start, at 0 (rate() needs them)
            for e in ENDPOINTS:
                ok = "200" if p == "rest" else "OK"
                self._counters[(p, e, ok)] = self.requests.labels(p, e, ok)

    def count(self, protocol: str, endpoint: str, status: str) -> None:
        key = (protocol, endpoint, status)
        counter = self._counters.get(key)
        if counter is None:
            counter = self.requests.labels(protocol=protocol, endpoint=endpoint, status=status)
            self._counters[key] = counter
        counter.inc()

    def observe(self, protocol: str, endpoint: str, status: str, seconds: float) -> None:
        self.count(protocol, endpoint, status)
        self._durations[(protocol, endpoint)].observe(seconds)
