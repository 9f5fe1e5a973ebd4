"""What may be shown: the caller's catalogue facts turned into item masks.

The recommender learns from events, but whether an item is in stock or belongs to a category the
customer asked not to see is the shop's knowledge at the moment of asking. The catalogue given at
fit time (or later with ``set_catalog``) sets names, categories and standing availability; every
call may add more unavailable items and excluded categories. Masks are numpy booleans over the
model's item columns, so filtering costs the same for one excluded item or a thousand.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from kefu.recsys.id_index import IdIndex


@dataclass(frozen=True, slots=True)
class CatalogItem:
    """What the shop says about one item."""

    item_id: str
    category: str | None = None
    """Product kind, department or any grouping a caller may exclude."""
    name: str | None = None
    """Shown in explanations ("because you bought <name>")."""
    available: bool = True
    """False: never recommended until the catalogue says otherwise."""


class CatalogView:
    """The catalogue as masks over one model's item columns."""

    def __init__(self, items: IdIndex, catalog: Iterable[CatalogItem] = ()) -> None:
        self._items = items
        self.names: dict[str, str] = {}
        self.categories: dict[str, str] = {}
        unavailable: list[int] = []
        by_category: dict[str, list[int]] = {}
        for entry in catalog:
            key = str(entry.item_id)
            if entry.name:
                self.names[key] = entry.name
            if entry.category:
                self.categories[key] = entry.category
            col = items.row(key)
            if col is None:
                continue
            if not entry.available:
                unavailable.append(col)
            if entry.category:
                by_category.setdefault(entry.category, []).append(col)
        self.unavailable = np.zeros(len(items), dtype=bool)
        self.unavailable[unavailable] = True
        self._category_cols = {k: np.array(v, dtype=np.int32) for k, v in by_category.items()}

    def entries(self) -> list[CatalogItem]:
        """The catalogue back as items (for saving)."""
        keys = (
            set(self.names)
            | set(self.categories)
            | {self._items.id(int(c)) for c in np.flatnonzero(self.unavailable)}
        )
        return [
            CatalogItem(
                item_id=key,
                category=self.categories.get(key),
                name=self.names.get(key),
                available=not self._is_unavailable(key),
            )
            for key in sorted(keys)
        ]

    def _is_unavailable(self, key: str) -> bool:
        col = self._items.row(key)
        return col is not None and col < len(self.unavailable) and bool(self.unavailable[col])

    def name(self, item_id: str) -> str:
        return self.names.get(item_id, item_id)

    def blocked(self, unavailable: Iterable[str] = (), exclude_categories: Iterable[str] = ()) -> np.ndarray:
        """A fresh mask of the items that must not be shown in this call."""
        mask = self.unavailable.copy()
        extra = self._items.rows(unavailable)
        if len(extra):
            mask[extra] = True
        for category in exclude_categories:
            cols = self._category_cols.get(category)
            if cols is not None:
                mask[cols] = True
        return mask
