"""Blending the signals into one ranking, for one customer or a batch.

The recommend path (one customer, sub-millisecond) and the evaluation (thousands of customers at
once) must rank identically, or the benchmark measures something that is not served; both go
through these functions. Each signal is scaled to at most 1 per customer so that the blend weights
in ``ScoreWeights`` mean the same thing whatever the model's score scale.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from kefu.recsys.config import ScoreWeights

_EPS = 1e-12


def scaled(values: np.ndarray) -> np.ndarray:
    """Divide by the largest absolute value (per row for a matrix); zeros stay zeros."""
    if values.ndim == 1:
        top = float(np.abs(values).max()) if len(values) else 0.0
        return values / top if top > _EPS else values
    top = np.abs(values).max(axis=1, keepdims=True)
    return values / np.where(top > _EPS, top, 1.0)


def item_priors(weights: ScoreWeights, trending: np.ndarray, popularity: np.ndarray) -> np.ndarray:
    """The customer-independent part of the score (trending and log-scaled popularity)."""
    prior = np.zeros(len(trending))
    if weights.trending:
        prior += weights.trending * scaled(trending)
    if weights.popularity:
        prior += weights.popularity * scaled(np.log1p(popularity))
    return prior


def rebuy_factor(rebuy_propensity: np.ndarray, exponent: float) -> np.ndarray:
    return np.ones_like(rebuy_propensity) if exponent == 0 else rebuy_propensity**exponent


def buy_again_matrix(rows: sp.csr_matrix, rebuy: np.ndarray) -> np.ndarray:
    """log1p(recency-weighted purchases) x rebuy factor, scaled per customer (dense)."""
    weighted = rows.astype(np.float64).tocsr(copy=True)
    weighted.data = np.log1p(weighted.data) * rebuy[weighted.indices]
    return scaled(weighted.toarray())


def buy_again_row(cols: np.ndarray, amounts: np.ndarray, rebuy: np.ndarray, n_items: int) -> np.ndarray:
    out = np.zeros(n_items)
    out[cols] = np.log1p(amounts) * rebuy[cols]
    return scaled(out)


def blend(
    weights: ScoreWeights,
    personal: np.ndarray | None,
    prior: np.ndarray,
    buy_again: np.ndarray | None = None,
) -> np.ndarray:
    """weights.als x scaled(ALS) + prior (+ weights.buy_again x buy-again)."""
    score = np.broadcast_to(prior, personal.shape if personal is not None else prior.shape).copy()
    if personal is not None and weights.als:
        score += weights.als * scaled(personal)
    if buy_again is not None and weights.buy_again:
        score += weights.buy_again * buy_again
    return score


def top_n(scores: np.ndarray, n: int, blocked: np.ndarray | None = None) -> np.ndarray:
    """Indices of the n best unblocked scores, best first (fewer if fewer are unblocked)."""
    if blocked is not None:
        scores = np.where(blocked, -np.inf, scores)
    n = min(n, len(scores))
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
    best = part[np.argsort(-scores[part], kind="stable")]
    return best[np.isfinite(scores[best])]


def top_n_batch(scores: np.ndarray, n: int) -> np.ndarray:
    """Row-wise top n (blocked entries already -inf); rows may contain -1 padding never."""
    n = min(n, scores.shape[1])
    part = np.argpartition(-scores, n - 1, axis=1)[:, :n]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)
