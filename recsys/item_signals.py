"""Per-item signals learnt from the events: popularity, trending, rebuy propensity.

These are what a recommender falls back on when it knows nothing about a customer (popularity,
trending), and what decides whether an item belongs on a *buy again* list at all: coffee and
printer ink are rebought, a sofa is not, and the data says which is which. Rebuy propensity is the
share of an item's buyers who bought it on two or more separate occasions, smoothed towards the
shop-wide share so that an item with three buyers does not get 0 % or 100 %.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kefu.recsys.config import RecommenderConfig
from kefu.recsys.events import KIND_CODES, EventKind
from kefu.recsys.interactions import SECONDS_PER_DAY, Interactions, contributions, decay


@dataclass(frozen=True)
class ItemSignals:
    popularity: np.ndarray
    """Sum of positive contributions per item, all time."""
    trending: np.ndarray
    """The same, halving every ``trending_half_life_days`` back from the newest event."""
    rebuy_propensity: np.ndarray
    """Smoothed share of buyers who bought the item again, in [0, 1]."""
    buyers: np.ndarray
    """Distinct customers who bought the item."""

    @classmethod
    def from_interactions(cls, data: Interactions, config: RecommenderConfig) -> ItemSignals:
        n_items = len(data.items)
        positive = np.maximum(contributions(data.kinds, data.weights, data.values, config.events), 0.0)
        popularity = np.bincount(data.item_cols, weights=positive, minlength=n_items)
        recent = positive * decay(data.timestamps, data.reference_time, config.trending_half_life_days)
        trending = np.bincount(data.item_cols, weights=recent, minlength=n_items)
        buyers, repeaters = _buyers_and_repeaters(data, config.rebuy_gap_days)
        total_buyers = buyers.sum()
        prior = float(repeaters.sum() / total_buyers) if total_buyers else 0.0
        strength = config.rebuy_prior_strength
        propensity = (repeaters + strength * prior) / np.maximum(buyers + strength, 1e-12)
        return cls(
            popularity.astype(np.float64),
            trending.astype(np.float64),
            propensity.astype(np.float64),
            buyers.astype(np.int64),
        )


def _buyers_and_repeaters(data: Interactions, gap_days: float) -> tuple[np.ndarray, np.ndarray]:
    """Per item: distinct buyers, and buyers with two or more buying occasions.

    A pair has two occasions exactly when its earliest and latest purchase fall in different time
    buckets, so a min and a max per pair (over the shared pair grouping) are enough.
    """
    n_items = len(data.items)
    groups = data.groups
    bought = data.kinds == KIND_CODES[EventKind.PURCHASE]
    # An occasion is a time bucket; events without a time are each their own occasion (an order line).
    bucket = np.where(
        np.isnan(data.timestamps),
        -1.0 - np.arange(len(bought)),
        np.floor(np.nan_to_num(data.timestamps) / (gap_days * SECONDS_PER_DAY)),
    )
    first = np.minimum.reduceat(np.where(bought, bucket, np.inf)[groups.order], groups.starts)
    last = np.maximum.reduceat(np.where(bought, bucket, -np.inf)[groups.order], groups.starts)
    is_buyer = np.isfinite(first)
    buyers = np.bincount(groups.cols[is_buyer], minlength=n_items).astype(np.float64)
    repeaters = np.bincount(groups.cols[is_buyer & (last > first)], minlength=n_items).astype(np.float64)
    return buyers, repeaters
