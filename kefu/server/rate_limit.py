"""Per-key rate limits: a token bucket per key (per key and client address for publishable widget keys).

In memory, per process: with several replicas, each enforces the limit on its own share of traffic.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """`allow(bucket, per_minute)` spends one token; the answer says how long to wait when none is left."""

    def __init__(self, burst: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._last_sweep = self._clock()

    def allow(self, bucket: str, per_minute: int) -> tuple[bool, float]:
        """(allowed, seconds until the next token)."""
        now = self._clock()
        rate = per_minute / 60.0
        capacity = float(max(1, min(self.burst, per_minute)))
        b = self._buckets.get(bucket)
        if b is None:
            b = self._buckets[bucket] = _Bucket(capacity, now)
        b.tokens = min(capacity, b.tokens + (now - b.updated) * rate)
        b.updated = now
        if now - self._last_sweep > 300:
            self._sweep(now)
        if b.tokens >= 1.0:
            b.tokens -= 1.0
            return True, 0.0
        return False, (1.0 - b.tokens) / rate

    def _sweep(self, now: float) -> None:
        """Forget buckets idle for ten minutes (they would be full again anyway)."""
        self._last_sweep = now
        for name in [n for n, b in self._buckets.items() if now - b.updated > 600]:
            del self._buckets[name]


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
