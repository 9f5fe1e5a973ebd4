"""The shop's append-only `events` table as an event source (the embedded default).

Any process that appends to the table (another replica, `kefu` in a script) is seen by every
recommender reading it: `read` returns rows after the cursor, `ack` moves the cursor. Only the
interaction kinds the recommender learns from are delivered.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from kefu.event_log import EventLog
from kefu.recsys.event_sources import Delivery
from kefu.recsys.events import Event, EventKind, to_timestamp

LEARNED_KINDS = tuple(k.value for k in EventKind)


class SqlEventSource:
    """At-least-once delivery of the `events` table's interaction rows, from `after_id` on."""

    def __init__(self, log: EventLog, *, after_id: int = 0) -> None:
        self.log = log
        self.cursor = after_id
        self._lock = threading.Lock()

    def history(self) -> list[Event]:
        """Every interaction row up to now (for a full fit); the cursor moves past them."""
        rows = self.log.read(kinds=LEARNED_KINDS)
        with self._lock:
            if rows:
                self.cursor = max(self.cursor, rows[-1]["id"])
        return [_event(r) for r in rows if r["customer_id"] and r["item_id"]]

    def read(self, max_count: int = 100, block_ms: int | None = None) -> list[Delivery]:
        rows = self.log.read(after_id=self.cursor, kinds=LEARNED_KINDS)[:max_count]
        return [Delivery(str(r["id"]), _event(r)) for r in rows if r["customer_id"] and r["item_id"]]

    def ack(self, ids: Sequence[str]) -> None:
        if ids:
            with self._lock:
                self.cursor = max(self.cursor, *(int(i) for i in ids))


def _event(row: dict[str, Any]) -> Event:
    return Event(
        str(row["customer_id"]),
        str(row["item_id"]),
        EventKind(row["kind"]),
        to_timestamp(row["at"]),
        weight=float(row["weight"]),
    )
