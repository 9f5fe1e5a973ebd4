from datetime import UTC, datetime

import numpy as np
import pytest

from kefu.recsys import Event, EventKind, EventTable


def test_from_row_accepts_plain_and_string_rows() -> None:
    event = Event.from_row({"user_id": 17850, "item_id": "85123A", "kind": "Purchase", "timestamp": "1.5e9"})
    assert event == Event("17850", "85123A", EventKind.PURCHASE, 1.5e9)
    rated = Event.from_row(
        {"user": "ann", "item": "m1", "type": "rating", "rating": "4.5", "time": "2020-01-01"}
    )
    assert rated.kind is EventKind.RATING and rated.value == 4.5
    assert rated.timestamp == datetime(2020, 1, 1, tzinfo=UTC).timestamp()
    with pytest.raises(ValueError):
        Event.from_row({"user_id": "ann"})
    with pytest.raises(ValueError):
        Event.from_row({"user_id": "ann", "item_id": "x", "kind": "teleport"})


def test_to_row_round_trips() -> None:
    event = Event("ann", "x", EventKind.RETURN, 12.0, weight=2.0, value=None)
    assert Event.from_row(event.to_row()) == event


def test_table_round_trip_and_select() -> None:
    events = [
        Event("a", "x"),
        Event("b", "y", EventKind.VIEW, 5.0),
        Event("a", "z", EventKind.RATING, value=3.0),
    ]
    table = EventTable.from_events(events)
    assert len(table) == 3
    assert list(table) == events
    views = table.select(table.kind_mask(EventKind.VIEW))
    assert list(views) == [events[1]]
    both = EventTable.concat([table, views])
    assert len(both) == 4 and np.isnan(both.timestamps[0])
