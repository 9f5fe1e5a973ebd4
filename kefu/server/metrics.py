"""Prometheus metrics of one app (a registry of its own, so several apps can live in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "kefu_http_requests",
            "HTTP requests by route and status.",
            ["method", "route", "status"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "kefu_http_request_duration_seconds",
            "Time to the end of the response, by route.",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.turns = Counter(
            "kefu_turns", "Assistant turns by outcome (ok, failed).", ["outcome"], registry=r
        )
        self.turn_seconds = Histogram(
            "kefu_turn_duration_seconds", "Time of one assistant turn.", buckets=_LATENCY_BUCKETS, registry=r
        )
        self.turns_in_flight = Gauge("kefu_turns_in_flight", "Assistant turns being computed.", registry=r)
        self.turns_waiting = Gauge(
            "kefu_turns_waiting", "Messages waiting for their session's previous turn.", registry=r
        )
        self.handoffs = Counter(
            "kefu_handoffs", "Conversations handed to a person, by who asked.", ["by"], registry=r
        )
        self.operator_messages = Counter("kefu_operator_messages", "Messages written by people.", registry=r)
        self.ratings = Counter("kefu_ratings", "Customer ratings of replies.", ["score"], registry=r)
        self.rate_limited = Counter(
            "kefu_rate_limited", "Requests refused by the per-key rate limit.", ["role"], registry=r
        )
