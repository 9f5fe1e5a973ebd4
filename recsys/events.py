"""Interaction events: the one input the recommender learns from.

The agent, the shop's SQL event table and a Redis stream all hand us plain rows; ``Event`` is the
typed form of one row and ``EventTable`` the columnar form of many, so that fitting on hundreds of
thousands of events is numpy work rather than a Python loop per event. Ids are always strings: a
customer id typed as ``17850`` in one place and ``"17850"`` in another must be the same customer.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

import numpy as np


class EventKind(StrEnum):
    """What the customer did with the item."""

    PURCHASE = "purchase"
    RETURN = "return"
    VIEW = "view"
    CLICK = "click"
    RATING = "rating"


# Stable small-integer codes for the columnar form (and for anything persisted).
KIND_CODES: dict[EventKind, int] = {kind: code for code, kind in enumerate(EventKind)}
KINDS_BY_CODE: tuple[EventKind, ...] = tuple(EventKind)


def to_timestamp(value: Any) -> float | None:
    """Unix seconds from a number, a datetime/date, an ISO-8601 string or None."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise TypeError("a timestamp cannot be a bool")
    if isinstance(value, int | float | np.integer | np.floating):
        number = float(value)
        return None if math.isnan(number) else number
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.timestamp()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp()
    if isinstance(value, str):
        return to_timestamp(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
    raise TypeError(f"cannot read a timestamp from {type(value).__name__}")


@dataclass(frozen=True, slots=True)
class Event:
    """One customer-item interaction."""

    user_id: str
    """The customer, as the shop knows them (normalised to a string)."""
    item_id: str
    """The item (SKU / variant / product, whatever level is being recommended)."""
    kind: EventKind = EventKind.PURCHASE
    """What happened."""
    timestamp: float | None = None
    """Unix seconds; None when unknown (such events are never decayed and count as one occasion each)."""
    weight: float = 1.0
    """A multiplier such as the number of order lines; the kind's weight is applied on top."""
    value: float | None = None
    """The rating, for ``kind=rating``."""

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Event:
        """Read a plain row (dict, SQL row mapping, stream message).

        Accepted keys: ``user_id`` (or ``user``/``customer_id``), ``item_id`` (or ``item``),
        ``kind`` (or ``event``/``type``), ``timestamp`` (or ``ts``/``time``), ``weight``, ``value``
        (or ``rating``). Values may be strings, as they arrive from Redis.
        """
        user = _first(row, "user_id", "user", "customer_id")
        item = _first(row, "item_id", "item")
        if user is None or item is None:
            raise ValueError(f"an event needs user_id and item_id, got keys {sorted(row)}")
        kind = _first(row, "kind", "event", "type")
        weight = _first(row, "weight")
        value = _first(row, "value", "rating")
        return cls(
            user_id=str(user),
            item_id=str(item),
            kind=EventKind(str(kind).lower()) if kind not in (None, "") else EventKind.PURCHASE,
            timestamp=to_timestamp(_number_or_text(_first(row, "timestamp", "ts", "time"))),
            weight=float(weight) if weight not in (None, "") else 1.0,
            value=float(value) if value not in (None, "") else None,
        )

    def to_row(self) -> dict[str, str]:
        """A flat string mapping (the shape Redis streams and CSV files carry)."""
        row = {"user_id": self.user_id, "item_id": self.item_id, "kind": self.kind.value}
        if self.timestamp is not None:
            row["timestamp"] = repr(self.timestamp)
        if self.weight != 1.0:
            row["weight"] = repr(self.weight)
        if self.value is not None:
            row["value"] = repr(self.value)
        return row


def as_event(obj: Event | Mapping[str, Any]) -> Event:
    """An ``Event`` from an event or a plain row."""
    return obj if isinstance(obj, Event) else Event.from_row(obj)


def _first(row: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        if key in row:
            return row[key]
    return None


def _number_or_text(value: Any) -> Any:
    if isinstance(value, str | bytes):
        text = value.decode() if isinstance(value, bytes) else value
        try:
            return float(text)
        except ValueError:
            return text
    return value


class EventTable:
    """Many events as parallel numpy columns (what fitting and splitting work on)."""

    __slots__ = ("users", "items", "kinds", "timestamps", "weights", "values")

    def __init__(
        self,
        users: np.ndarray,
        items: np.ndarray,
        kinds: np.ndarray | None = None,
        timestamps: np.ndarray | None = None,
        weights: np.ndarray | None = None,
        values: np.ndarray | None = None,
    ) -> None:
        n = len(users)
        self.users = np.asarray(users).astype(str)
        self.items = np.asarray(items).astype(str)
        self.kinds = np.zeros(n, np.int8) if kinds is None else np.asarray(kinds, dtype=np.int8).reshape(n)
        self.timestamps = (
            np.full(n, np.nan) if timestamps is None else np.asarray(timestamps, np.float64).reshape(n)
        )
        self.weights = np.ones(n, np.float32) if weights is None else np.asarray(weights, np.float32)
        self.values = np.full(n, np.nan, np.float32) if values is None else np.asarray(values, np.float32)
        if not (len(self.items) == len(self.weights) == len(self.values) == n):
            raise ValueError("all EventTable columns must have the same length")

    @classmethod
    def from_events(cls, events: Iterable[Event | Mapping[str, Any]]) -> EventTable:
        """Columnar form of an iterable of events or plain rows."""
        rows = [as_event(e) for e in events]
        return cls(
            users=np.array([e.user_id for e in rows], dtype=str),
            items=np.array([e.item_id for e in rows], dtype=str),
            kinds=np.array([KIND_CODES[e.kind] for e in rows], dtype=np.int8),
            timestamps=np.array(
                [np.nan if e.timestamp is None else e.timestamp for e in rows], dtype=np.float64
            ),
            weights=np.array([e.weight for e in rows], dtype=np.float32),
            values=np.array([np.nan if e.value is None else e.value for e in rows], dtype=np.float32),
        )

    @classmethod
    def coerce(cls, events: EventTable | Iterable[Event | Mapping[str, Any]]) -> EventTable:
        """Pass a table through; convert anything else."""
        return events if isinstance(events, EventTable) else cls.from_events(events)

    def __len__(self) -> int:
        return len(self.users)

    def select(self, mask: np.ndarray) -> EventTable:
        """The rows where ``mask`` is true (or at the given indices)."""
        return EventTable(
            self.users[mask],
            self.items[mask],
            self.kinds[mask],
            self.timestamps[mask],
            self.weights[mask],
            self.values[mask],
        )

    @staticmethod
    def concat(tables: Iterable[EventTable]) -> EventTable:
        parts = list(tables)
        if not parts:
            return EventTable(np.array([], str), np.array([], str))
        return EventTable(
            *(np.concatenate([getattr(t, name) for t in parts]) for name in EventTable.__slots__)
        )

    def kind_mask(self, *kinds: EventKind) -> np.ndarray:
        return np.isin(self.kinds, [KIND_CODES[k] for k in kinds])

    def __iter__(self) -> Iterator[Event]:
        for i in range(len(self)):
            ts = self.timestamps[i]
            value = self.values[i]
            yield Event(
                user_id=str(self.users[i]),
                item_id=str(self.items[i]),
                kind=KINDS_BY_CODE[int(self.kinds[i])],
                timestamp=None if math.isnan(ts) else float(ts),
                weight=float(self.weights[i]),
                value=None if math.isnan(value) else float(value),
            )
