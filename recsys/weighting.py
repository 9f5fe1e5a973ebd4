"""Confidence weighting of the customer x item matrix (none / BM25 / TF-IDF).

Raw counts over-trust heavy buyers and blockbuster items; implicit ships BM25 and TF-IDF
re-weightings for that (``implicit.nearest_neighbours``), and which one helps is a question for
the evaluation (``tune`` searches it). We apply implicit's functions to the whole matrix at fit
time and keep their statistics (per-item IDF, average row length), so one customer's row can be
re-weighted the same way when new events arrive, without touching the rest of the matrix.

Orientation: rows are customers, columns items, so IDF discounts items everyone buys and BM25's
length normalisation discounts customers who buy everything. Weights are floored at a tiny
positive value: an item bought by every customer has a negative IDF in implicit's formula, and
ALS would read a negative confidence as "disliked".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from implicit.nearest_neighbours import bm25_weight, tfidf_weight

from kefu.recsys.config import Weighting

MIN_CONFIDENCE = 1e-6


@dataclass(frozen=True)
class ConfidenceWeighting:
    """A fitted weighting: the scheme and the statistics it needs for a single row."""

    scheme: Weighting
    idf: np.ndarray
    """Per item: log(n_customers) - log1p(customers who interacted)."""
    average_row_sum: float
    k1: float = 100.0
    b: float = 0.8

    @classmethod
    def fit(
        cls, matrix: sp.csr_matrix, scheme: Weighting, k1: float = 100.0, b: float = 0.8
    ) -> ConfidenceWeighting:
        n_users, n_items = matrix.shape
        counts = np.bincount(matrix.indices, minlength=n_items)
        idf = np.log(max(n_users, 1)) - np.log1p(counts)
        row_sums = np.asarray(matrix.sum(axis=1)).ravel()
        average = float(row_sums.mean()) if n_users else 1.0
        return cls(scheme, idf.astype(np.float64), average or 1.0, float(k1), float(b))

    def transform(self, matrix: sp.csr_matrix) -> sp.csr_matrix:
        """The whole matrix, through implicit's own weighting function."""
        if self.scheme == "none":
            weighted = matrix.astype(np.float32, copy=True)
        elif self.scheme == "bm25":
            weighted = bm25_weight(matrix, K1=self.k1, B=self.b).tocsr().astype(np.float32)
        else:
            weighted = tfidf_weight(matrix).tocsr().astype(np.float32)
        np.maximum(weighted.data, MIN_CONFIDENCE, out=weighted.data)
        return weighted

    def transform_row(self, indices: np.ndarray, data: np.ndarray) -> np.ndarray:
        """One customer's weighted confidences (same formula as ``transform`` for that row)."""
        data = np.asarray(data, dtype=np.float64)
        if self.scheme == "none" or len(data) == 0:
            out = data
        elif self.scheme == "bm25":
            idf = self._idf(indices)
            length_norm = (1.0 - self.b) + self.b * data.sum() / self.average_row_sum
            out = data * (self.k1 + 1.0) / (self.k1 * length_norm + data) * idf
        else:
            out = np.sqrt(data) * self._idf(indices)
        return np.maximum(out, MIN_CONFIDENCE).astype(np.float32)

    def _idf(self, indices: np.ndarray) -> np.ndarray:
        return self.idf[indices]
