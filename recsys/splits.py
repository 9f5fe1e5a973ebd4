"""Train/test splits for offline evaluation, and the validation splits carved from train.

Tuning must never see the test set, so every split function here also serves to carve a
validation split out of a training table: the same function, applied to the training part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kefu.recsys.events import EventTable


@dataclass(frozen=True)
class Holdout:
    """Training events and, per evaluated customer, the items to find."""

    train: EventTable
    positives: dict[str, set[str]]
    """Customer -> held-out positive items (customers with none are absent)."""


def temporal_split(table: EventTable, cutoff: float, positive: np.ndarray | None = None) -> Holdout:
    """Train = events before ``cutoff``; positives = items of events from ``cutoff`` on, for
    customers that also appear in train. ``positive`` masks which test events count."""
    before = table.timestamps < cutoff
    after = ~before if positive is None else (~before & positive)
    train = table.select(before)
    known = set(np.unique(train.users).tolist())
    positives: dict[str, set[str]] = {}
    for user, item in zip(table.users[after].tolist(), table.items[after].tolist(), strict=True):
        if user in known:
            positives.setdefault(user, set()).add(item)
    return Holdout(train, positives)


def per_user_holdout(
    table: EventTable, fraction: float = 0.2, seed: int = 42, min_events: int = 5
) -> Holdout:
    """Hold out a seeded random ``fraction`` of each customer's events (customers with at least
    ``min_events``; others stay wholly in train).

    Customers are visited in sorted order and their events in (item) order, with one
    ``numpy.random.RandomState(seed)``, so the split is reproducible across runs and machines.
    """
    rng = np.random.RandomState(seed)
    order = np.lexsort((table.items, table.users))
    users = table.users[order]
    boundaries = np.flatnonzero(np.r_[True, users[1:] != users[:-1], True])
    test_mask = np.zeros(len(table), dtype=bool)
    for start, end in zip(boundaries[:-1], boundaries[1:], strict=True):
        count = end - start
        if count < min_events:
            continue
        chosen = rng.permutation(count)[: max(1, int(round(fraction * count)))]
        test_mask[order[start + chosen]] = True
    train = table.select(~test_mask)
    positives: dict[str, set[str]] = {}
    for user, item in zip(table.users[test_mask].tolist(), table.items[test_mask].tolist(), strict=True):
        positives.setdefault(user, set()).add(item)
    return Holdout(train, positives)
