"""Where new events come from: one small interface, one module per backend.

``EventSource`` is what the consumer loop reads: deliveries (an id and an event) that are
acknowledged once applied, so a source that can redeliver (Redis Streams, an SQL table with a
cursor) never loses an event to a crash between read and apply. ``AppendOnlyEventLog`` is the
embedded default: an in-process append-only list that is both a source for the consumer and the
history a full refit reads. The shop's SQL event table and Redis Streams
(``redis_streams.RedisStreamEventSource``) implement the same two methods.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from kefu.recsys.events import Event, EventTable, as_event


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event handed out by a source, to be acknowledged by ``id`` once applied."""

    id: str
    event: Event


@runtime_checkable
class EventSource(Protocol):
    """A stream of events with at-least-once delivery."""

    def read(self, max_count: int = 100, block_ms: int | None = None) -> list[Delivery]:
        """Up to ``max_count`` undelivered events; waits up to ``block_ms`` for one if none."""
        ...

    def ack(self, ids: Sequence[str]) -> None:
        """Mark deliveries as applied (they will not be delivered again)."""
        ...


class AppendOnlyEventLog:
    """An in-process, thread-safe, append-only event log.

    Offsets are positions in the log. ``snapshot(end)`` gives the history for a refit;
    ``consumer()`` gives an ``EventSource`` cursor over new appends.
    """

    def __init__(self, events: Iterable[Event | Mapping[str, Any]] = ()) -> None:
        self._events: list[Event] = [as_event(e) for e in events]
        self._changed = threading.Condition()

    def append(self, events: Iterable[Event | Mapping[str, Any]]) -> int:
        """Add events at the end; returns the new length."""
        batch = [as_event(e) for e in events]
        with self._changed:
            self._events.extend(batch)
            self._changed.notify_all()
            return len(self._events)

    def __len__(self) -> int:
        return len(self._events)

    def slice(self, start: int, end: int | None = None) -> list[Event]:
        with self._changed:
            return self._events[start:end]

    def snapshot(self, end: int | None = None) -> EventTable:
        """Events [0, end) as a table (the full history by default)."""
        return EventTable.from_events(self.slice(0, end))

    def wait_for(self, offset: int, timeout_s: float | None) -> bool:
        """Block until the log is longer than ``offset`` (or the timeout passes)."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self._events) > offset, timeout=timeout_s)

    def consumer(self, start: int = 0) -> LogCursor:
        return LogCursor(self, start)


class LogCursor:
    """An ``EventSource`` over an ``AppendOnlyEventLog``: reads from the last acknowledged offset.

    Unacknowledged deliveries are handed out again after ``rewind()`` (what a restarted consumer
    would see), matching a redelivering backend.
    """

    def __init__(self, log: AppendOnlyEventLog, start: int = 0) -> None:
        self._log = log
        self._next = start
        self.committed = start
        """Every event before this offset has been acknowledged."""

    def read(self, max_count: int = 100, block_ms: int | None = None) -> list[Delivery]:
        if block_ms and len(self._log) <= self._next:
            self._log.wait_for(self._next, block_ms / 1000.0)
        batch = self._log.slice(self._next, self._next + max_count)
        start = self._next
        self._next += len(batch)
        return [Delivery(str(start + i), event) for i, event in enumerate(batch)]

    def ack(self, ids: Sequence[str]) -> None:
        if ids:
            self.committed = max(self.committed, max(int(i) for i in ids) + 1)

    def rewind(self) -> None:
        """Deliver again everything not yet acknowledged."""
        self._next = self.committed
