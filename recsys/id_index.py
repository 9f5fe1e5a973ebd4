"""Two-way maps between the shop's ids and matrix rows/columns.

Kept with the model (saved in its manifest) because a factor row means nothing without the id it
belongs to. Grows in place for customers first seen after a fit; appends are single operations
under the GIL, so readers never see a half-added id.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np


class IdIndex:
    """Ordered ids with O(1) lookup in both directions."""

    __slots__ = ("_ids", "_rows")

    def __init__(self, ids: Iterable[str] = ()) -> None:
        self._ids: list[str] = [str(i) for i in ids]
        self._rows: dict[str, int] = {item: row for row, item in enumerate(self._ids)}
        if len(self._rows) != len(self._ids):
            raise ValueError("ids must be unique")

    @classmethod
    def encode(cls, values: np.ndarray) -> tuple[IdIndex, np.ndarray]:
        """Index the distinct values (sorted) and return each value's row."""
        ids, codes = np.unique(values, return_inverse=True)
        return cls(ids.tolist()), codes.astype(np.int32)

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, key: object) -> bool:
        return key in self._rows

    def row(self, key: str) -> int | None:
        return self._rows.get(key)

    def rows(self, keys: Iterable[str]) -> np.ndarray:
        """Rows of the known keys (unknown ones are skipped)."""
        found = [self._rows[k] for k in keys if k in self._rows]
        return np.array(found, dtype=np.int32)

    def add(self, key: str) -> int:
        """The key's row, appending it if new."""
        row = self._rows.get(key)
        if row is None:
            self._ids.append(key)
            row = len(self._ids) - 1
            self._rows[key] = row
        return row

    def id(self, row: int) -> str:
        return self._ids[row]

    @property
    def ids(self) -> Sequence[str]:
        return self._ids
