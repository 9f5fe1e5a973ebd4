"""Scoring a fitted model against held-out positives, through the same ranking code it serves with.

Used by ``tune`` (on a validation split carved from training data) and by the benchmark (on the
test split). Scores are computed for many customers at once (one matrix product) but ranked by
``scoring.blend``, exactly as ``Recommender.recommend`` ranks one customer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np

from kefu.recsys.config import ScoreWeights
from kefu.recsys.metrics import RankingMetrics, ranking_metrics
from kefu.recsys.recommender import Recommender
from kefu.recsys.scoring import top_n_batch
from kefu.recsys.splits import Holdout

View = Literal["discover", "blend"]
"""``discover``: owned items filtered, only new items count; ``blend``: everything counts."""


def only_new(holdout: Holdout) -> Holdout:
    """Keep only positives the customer had not bought (or rated) in the training events."""
    owned: dict[str, set[str]] = {}
    for user, item in zip(holdout.train.users.tolist(), holdout.train.items.tolist(), strict=True):
        if user in holdout.positives:
            owned.setdefault(user, set()).add(item)
    positives = {u: p - owned.get(u, set()) for u, p in holdout.positives.items()}
    return Holdout(holdout.train, {u: p for u, p in positives.items() if p})


def top_items(
    model: Recommender,
    users: list[str],
    kind: View,
    k: int = 10,
    weights: ScoreWeights | None = None,
    batch: int = 2048,
) -> dict[str, list[str]]:
    """Each known customer's top-k item ids."""
    out: dict[str, list[str]] = {}
    known = [u for u in users if u in model._require().users]
    item_ids = np.asarray(model.items)
    for start in range(0, len(known), batch):
        chunk = known[start : start + batch]
        _, scores = model._score_batch(chunk, kind, weights)
        best = top_n_batch(scores, k)
        finite = np.isfinite(np.take_along_axis(scores, best, axis=1))
        for user, ids, ok in zip(chunk, best, finite, strict=True):
            out[user] = item_ids[ids[ok]].tolist()
    return out


def evaluate(
    model: Recommender,
    positives: Mapping[str, set[str]],
    kind: View,
    k: int = 10,
    weights: ScoreWeights | None = None,
) -> RankingMetrics:
    recommended = top_items(model, list(positives), kind, k, weights)
    return ranking_metrics(recommended, positives, k, catalogue_size=len(model.items))
