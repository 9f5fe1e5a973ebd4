"""Events through Redis Streams with a consumer group (the scale-out event backend).

Several server replicas publish events with ``XADD``; each recommender replica reads them through
one consumer group, so every event is applied once per group and acknowledged (``XACK``) only
after it has been applied. A consumer that restarts first re-reads its own pending entries (id
``0``), and stale entries of a consumer that died are claimed with ``XAUTOCLAIM`` after
``claim_idle_ms``. Needs ``redis`` (redis-py) and a Redis server >= 6.2.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from kefu.recsys.event_sources import Delivery
from kefu.recsys.events import Event, as_event

log = logging.getLogger(__name__)


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


class RedisStreamEventSource:
    """An ``EventSource`` (and publisher) over one Redis stream and consumer group."""

    def __init__(
        self,
        client: Any,
        *,
        stream: str = "kefu:events",
        group: str = "kefu-recsys",
        consumer: str | None = None,
        start_id: str = "0",
        claim_idle_ms: int = 60_000,
        max_len: int | None = None,
    ) -> None:
        """``client`` is a ``redis.Redis``; the group is created (with the stream) if missing,
        reading from ``start_id`` (``"0"``: the whole stream, ``"$"``: only new events)."""
        self.client = client
        self.stream = stream
        self.group = group
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}"
        self.claim_idle_ms = claim_idle_ms
        self.max_len = max_len
        self._own_pending_done = False
        self.skipped = 0
        """Malformed entries acknowledged and dropped (logged)."""
        self._create_group(start_id)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisStreamEventSource:
        import redis

        return cls(redis.Redis.from_url(url), **kwargs)

    def _create_group(self, start_id: str) -> None:
        import redis

        try:
            self.client.xgroup_create(self.stream, self.group, id=start_id, mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def publish(self, events: Iterable[Event | Mapping[str, Any]]) -> list[str]:
        """Append events to the stream; returns their stream ids."""
        pipe = self.client.pipeline(transaction=False)
        for event in events:
            fields = as_event(event).to_row()
            if self.max_len:
                pipe.xadd(self.stream, fields, maxlen=self.max_len, approximate=True)
            else:
                pipe.xadd(self.stream, fields)
        return [_text(i) for i in pipe.execute()]

    def read(self, max_count: int = 100, block_ms: int | None = None) -> list[Delivery]:
        if not self._own_pending_done:
            # After a restart: our own entries that were read but never acknowledged come first.
            entries = self._read_group("0", max_count, None)
            if entries:
                return self._deliveries(entries)
            self._own_pending_done = True
        claimed = self._claim_stale(max_count)
        if claimed:
            return claimed
        return self._deliveries(self._read_group(">", max_count, block_ms))

    def ack(self, ids: Sequence[str]) -> None:
        if ids:
            self.client.xack(self.stream, self.group, *ids)

    def pending(self) -> int:
        """Entries delivered to the group and not yet acknowledged."""
        summary = self.client.xpending(self.stream, self.group)
        return int(summary["pending"] if isinstance(summary, dict) else summary[0])

    def _read_group(self, start: str, count: int, block_ms: int | None) -> list[tuple[Any, Any]]:
        response = self.client.xreadgroup(
            self.group, self.consumer, {self.stream: start}, count=count, block=block_ms
        )
        entries: list[tuple[Any, Any]] = []
        for _stream, messages in response or []:
            entries.extend(messages)
        return entries

    def _claim_stale(self, count: int) -> list[Delivery]:
        if self.claim_idle_ms <= 0:
            return []
        result = self.client.xautoclaim(
            self.stream, self.group, self.consumer, self.claim_idle_ms, "0-0", count=count
        )
        messages = result[1] if len(result) > 1 else []
        return self._deliveries([m for m in messages if m and m[1] is not None])

    def _deliveries(self, entries: list[tuple[Any, Any]]) -> list[Delivery]:
        out: list[Delivery] = []
        bad: list[str] = []
        for raw_id, fields in entries:
            entry_id = _text(raw_id)
            if not fields:  # trimmed from the stream while pending
                bad.append(entry_id)
                continue
            row = {_text(k): _text(v) for k, v in fields.items()}
            try:
                out.append(Delivery(entry_id, Event.from_row(row)))
            except (ValueError, TypeError) as exc:
                log.warning("dropping malformed event %s from %s: %s", entry_id, self.stream, exc)
                bad.append(entry_id)
        if bad:
            self.skipped += len(bad)
            self.ack(bad)
        return out
