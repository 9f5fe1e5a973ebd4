"""From events to the sparse matrices the model and the serving rules read.

Three customer x item matrices come out of one pass over the events, because they answer
different questions:

- *confidence*: how sure we are the customer likes the item (all kinds of events, optionally
  decayed with age) -- what ALS factorises;
- *owned*: what the customer has ever bought (or rated: a rating says they have it) -- what
  *discover* filters out;
- *buy again*: recency-weighted net purchases (returns taken back) -- what *buy again* ranks.

``UserRows`` lets one customer's row change after the fit (a new purchase, a return) without
rebuilding the matrix: changed rows live in a small overlay over the fitted CSR.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from kefu.recsys.config import EventWeights, RecommenderConfig
from kefu.recsys.events import KIND_CODES, Event, EventKind, EventTable
from kefu.recsys.id_index import IdIndex

SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class PairGroups:
    """Events grouped by (customer, item): the sort every matrix and item signal is reduced from.

    Computed once per ``Interactions`` because it does not depend on the config: a refit with other
    settings (tuning tries dozens) only re-runs cheap ``reduceat`` passes over it.
    """

    order: np.ndarray
    """Event indices sorted by (customer row, item column), stable."""
    starts: np.ndarray
    """Positions in ``order`` where each distinct pair starts."""
    rows: np.ndarray
    """Customer row of each pair (non-decreasing)."""
    cols: np.ndarray
    """Item column of each pair (increasing within a row)."""

    @classmethod
    def of(cls, user_rows: np.ndarray, item_cols: np.ndarray, n_items: int) -> PairGroups:
        key = user_rows.astype(np.int64) * n_items + item_cols
        order = np.argsort(key, kind="stable")
        ordered = key[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        pairs = ordered[starts]
        return cls(order, starts, (pairs // n_items).astype(np.int32), (pairs % n_items).astype(np.int32))

    def sums(self, values: np.ndarray) -> np.ndarray:
        """Per pair, the sum of one value per event."""
        return np.add.reduceat(np.asarray(values, dtype=np.float64)[self.order], self.starts)

    def csr(self, values: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
        """Per-pair sums as a CSR matrix; sums <= 0 are dropped (a return cancels a purchase)."""
        sums = self.sums(values)
        keep = sums > 0
        rows = self.rows[keep]
        indptr = np.zeros(shape[0] + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])
        return sp.csr_matrix((sums[keep].astype(np.float32), self.cols[keep], indptr), shape=shape)


@dataclass
class Interactions:
    """Events with ids replaced by matrix rows/columns (config-independent, reusable across fits)."""

    users: IdIndex
    items: IdIndex
    user_rows: np.ndarray
    item_cols: np.ndarray
    kinds: np.ndarray
    timestamps: np.ndarray
    weights: np.ndarray
    values: np.ndarray
    groups: PairGroups

    @classmethod
    def from_events(cls, events: EventTable | Iterable[Event | Mapping[str, Any]]) -> Interactions:
        table = EventTable.coerce(events)
        if len(table) == 0:
            raise ValueError("cannot fit a recommender on zero events")
        users, user_rows = IdIndex.encode(table.users)
        items, item_cols = IdIndex.encode(table.items)
        return cls(
            users,
            items,
            user_rows,
            item_cols,
            table.kinds,
            table.timestamps,
            table.weights,
            table.values,
            PairGroups.of(user_rows, item_cols, len(items)),
        )

    @property
    def reference_time(self) -> float | None:
        """The newest event's time: ages (for decay) are measured back from here."""
        known = self.timestamps[~np.isnan(self.timestamps)]
        return float(known.max()) if len(known) else None

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.users), len(self.items)


def contributions(
    kinds: np.ndarray, weights: np.ndarray, values: np.ndarray, rules: EventWeights
) -> np.ndarray:
    """Each event's signed contribution to confidence, before any decay."""
    per_kind = np.array([rules.for_kind(kind) for kind in EventKind], dtype=np.float64)
    out = per_kind[kinds.astype(np.intp)] * weights
    is_rating = kinds == KIND_CODES[EventKind.RATING]
    if is_rating.any():
        liked = np.nan_to_num(values, nan=-np.inf) >= rules.rating_threshold
        out = np.where(is_rating & ~liked, 0.0, out)
    return out


def decay(timestamps: np.ndarray, reference_time: float | None, half_life_days: float | None) -> np.ndarray:
    """0.5 ** (age / half-life); events without a time, or newer than the reference, count fully."""
    if half_life_days is None or reference_time is None:
        return np.ones(len(timestamps))
    age_days = np.nan_to_num((reference_time - timestamps) / SECONDS_PER_DAY, nan=0.0)
    return 0.5 ** (np.maximum(age_days, 0.0) / half_life_days)


@dataclass
class UserItemMatrices:
    """The three matrices (rows may change later through ``UserRows``)."""

    confidence: sp.csr_matrix
    owned: sp.csr_matrix
    """Purchase (and rating) counts."""
    buy_again: sp.csr_matrix


def build_matrices(data: Interactions, config: RecommenderConfig) -> UserItemMatrices:
    shape = data.shape
    reference = data.reference_time
    groups = data.groups
    signed = contributions(data.kinds, data.weights, data.values, config.events)
    confidence = groups.csr(signed * decay(data.timestamps, reference, config.als.half_life_days), shape)
    bought = data.kinds == KIND_CODES[EventKind.PURCHASE]
    has = bought | (data.kinds == KIND_CODES[EventKind.RATING])
    owned = groups.csr(np.where(has, data.weights, 0.0), shape)
    returned = data.kinds == KIND_CODES[EventKind.RETURN]
    sign = np.where(bought, 1.0, np.where(returned, -1.0, 0.0))
    buy_again = groups.csr(
        sign * data.weights * decay(data.timestamps, reference, config.buy_again_half_life_days), shape
    )
    return UserItemMatrices(confidence, owned, buy_again)


class UserRows:
    """A CSR matrix whose rows can be replaced one at a time (and which may gain rows)."""

    def __init__(self, base: sp.csr_matrix) -> None:
        self._base = base
        self._overlay: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._lock = threading.Lock()

    @property
    def n_cols(self) -> int:
        return int(self._base.shape[1])

    def row(self, user: int) -> tuple[np.ndarray, np.ndarray]:
        """(item columns, values) of one customer, sorted by column."""
        changed = self._overlay.get(user)
        if changed is not None:
            return changed
        if user >= self._base.shape[0]:
            return _EMPTY_INDICES, _EMPTY_DATA
        start, end = self._base.indptr[user], self._base.indptr[user + 1]
        return self._base.indices[start:end], self._base.data[start:end]

    def add(self, user: int, cols: np.ndarray, deltas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Add signed amounts to a customer's row (floored at zero); return the new row."""
        with self._lock:
            old_cols, old_data = self.row(user)
            merged_cols, inverse = np.unique(np.concatenate([old_cols, cols]), return_inverse=True)
            sums = np.bincount(
                inverse,
                weights=np.concatenate([old_data, deltas]).astype(np.float64),
                minlength=len(merged_cols),
            )
            keep = sums > 0
            new_row = (merged_cols[keep].astype(np.int32), sums[keep].astype(np.float32))
            self._overlay[user] = new_row
            return new_row

    def to_csr(self, n_rows: int | None = None) -> sp.csr_matrix:
        """The current matrix, overlay merged in."""
        n_rows = max(n_rows or 0, self._base.shape[0], max(self._overlay, default=-1) + 1)
        if not self._overlay and n_rows == self._base.shape[0]:
            return self._base
        lengths = np.zeros(n_rows, dtype=np.int64)
        rows = [self.row(u) for u in range(n_rows)]
        lengths[:] = [len(cols) for cols, _ in rows]
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        indices = np.concatenate([cols for cols, _ in rows]) if rows else _EMPTY_INDICES
        data = np.concatenate([vals for _, vals in rows]) if rows else _EMPTY_DATA
        return sp.csr_matrix((data, indices, indptr), shape=(n_rows, self.n_cols))

    def rows_csr(self, users: np.ndarray) -> sp.csr_matrix:
        """A CSR of just these customers' rows (in order)."""
        parts = [self.row(int(u)) for u in users]
        indptr = np.concatenate([[0], np.cumsum([len(c) for c, _ in parts])])
        indices = np.concatenate([c for c, _ in parts]) if parts else _EMPTY_INDICES
        data = np.concatenate([d for _, d in parts]) if parts else _EMPTY_DATA
        return sp.csr_matrix((data, indices, indptr), shape=(len(parts), self.n_cols))

    @property
    def changed_rows(self) -> int:
        return len(self._overlay)


_EMPTY_INDICES = np.zeros(0, dtype=np.int32)
_EMPTY_DATA = np.zeros(0, dtype=np.float32)
