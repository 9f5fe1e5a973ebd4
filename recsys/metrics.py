"""Top-k ranking metrics for offline evaluation.

Definitions (k = 10 in the benchmarks), per evaluated customer, then averaged over customers:

- precision@k = hits in the top k / k
- recall@k = hits in the top k / number of positives
- NDCG@k = DCG / ideal DCG, binary gains, log2(rank + 1) discount, ideal over min(positives, k)
- MAP@k = sum of precision at each hit rank / min(positives, k)

and catalogue coverage = distinct items recommended to anyone / items in the catalogue.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class RankingMetrics:
    precision: float
    recall: float
    ndcg: float
    map: float
    coverage: float
    users: int
    """Customers evaluated."""
    k: int = 10

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def ranking_metrics(
    recommended: Mapping[str, Sequence[str]],
    positives: Mapping[str, Iterable[str]],
    k: int = 10,
    catalogue_size: int | None = None,
) -> RankingMetrics:
    """Average metrics over the customers in ``positives`` that have at least one positive.

    A customer missing from ``recommended`` counts with an empty list (zero on every metric).
    """
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    totals = np.zeros(4)
    shown: set[str] = set()
    evaluated = 0
    for user, wanted in positives.items():
        wanted = set(wanted)
        if not wanted:
            continue
        evaluated += 1
        top = list(recommended.get(user, ()))[:k]
        shown.update(top)
        hits = np.array([item in wanted for item in top], dtype=bool)
        n_hits = int(hits.sum())
        ideal = min(len(wanted), k)
        dcg = float(discounts[: len(top)][hits].sum())
        precision_at_hits = np.cumsum(hits)[hits] / (np.flatnonzero(hits) + 1)
        totals += (
            n_hits / k,
            n_hits / len(wanted),
            dcg / float(discounts[:ideal].sum()),
            float(precision_at_hits.sum()) / ideal,
        )
    precision, recall, ndcg, map_ = (float(x) for x in totals / max(evaluated, 1))
    coverage = len(shown) / catalogue_size if catalogue_size else 0.0
    return RankingMetrics(precision, recall, ndcg, map_, coverage=coverage, users=evaluated, k=k)
