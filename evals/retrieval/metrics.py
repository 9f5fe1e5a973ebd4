"""Retrieval metrics: recall@k, mean reciprocal rank, latency percentiles, not-found accuracy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

KS = (1, 3, 5)


@dataclass(frozen=True, slots=True)
class RankingMetrics:
    queries: int
    recall: dict[int, float]
    """recall@k: share of queries with a relevant passage in the first k."""
    mrr: float
    """Mean reciprocal rank of the first relevant passage (0 when not in the top 5)."""


def ranking_metrics(ranks: Sequence[int | None]) -> RankingMetrics:
    """`ranks`: per query, the 1-based rank of the first relevant result (None: not in the results)."""
    n = len(ranks)
    if n == 0:
        return RankingMetrics(0, {k: float("nan") for k in KS}, float("nan"))
    recall = {k: sum(1 for r in ranks if r is not None and r <= k) / n for k in KS}
    mrr = sum(1.0 / r for r in ranks if r is not None) / n
    return RankingMetrics(n, recall, mrr)


def first_relevant(result_ids: Sequence[str], relevant: frozenset[str]) -> int | None:
    for rank, section_id in enumerate(result_ids, 1):
        if section_id in relevant:
            return rank
    return None


def percentile_ms(seconds: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(seconds) * 1000.0, q)) if seconds else float("nan")


@dataclass(frozen=True, slots=True)
class NotFoundMetrics:
    in_scope: int
    out_of_scope: int
    answered: float
    """Share of in-scope questions that got a result above the threshold."""
    refused: float
    """Share of out-of-scope questions that got "not found"."""

    @property
    def accuracy(self) -> float:
        total = self.in_scope + self.out_of_scope
        return (
            (self.answered * self.in_scope + self.refused * self.out_of_scope) / total
            if total
            else float("nan")
        )

    @property
    def balanced(self) -> float:
        """Mean of the two rates: each side counts the same however many questions it has."""
        return (self.answered + self.refused) / 2


def not_found_metrics(
    top_in_scope: Sequence[float], top_out_of_scope: Sequence[float], threshold: float
) -> NotFoundMetrics:
    """Given the best score of each query (-inf when nothing came back), how the threshold splits them."""
    answered = (
        sum(1 for s in top_in_scope if s >= threshold) / len(top_in_scope) if top_in_scope else float("nan")
    )
    refused = (
        sum(1 for s in top_out_of_scope if s < threshold) / len(top_out_of_scope)
        if top_out_of_scope
        else float("nan")
    )
    return NotFoundMetrics(len(top_in_scope), len(top_out_of_scope), answered, refused)
