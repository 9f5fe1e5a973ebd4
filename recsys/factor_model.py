"""The collaborative-filtering core: implicit's ALS, trained on CPU or GPU, served on CPU.

Training may run on implicit's CUDA build when one is installed (``implicit.gpu.HAS_CUDA``); the
fitted factors are always brought back to a CPU model, because serving one customer at a time is
faster in numpy than a round trip to the device, and a saved model must load on any machine.

Besides fitting, this is where a customer's vector is recomputed from their row alone
(``recalculate_user``: one small linear solve against the fixed item factors, so new events show in
the next recommendation without a refit), and where "because you bought X" comes from: implicit's
``explain`` for a single pair, and the same computation batched over a list of candidates for the
recommendation path.
"""

from __future__ import annotations

import threading

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from kefu.recsys._blas import single_threaded_blas
from kefu.recsys.config import AlsParams


def gpu_available() -> bool:
    """Whether implicit was built with CUDA and a device is visible."""
    try:
        import implicit.gpu

        return bool(implicit.gpu.HAS_CUDA)
    except ImportError:  # pragma: no cover - implicit always ships the module
        return False


def _cpu_als(params: AlsParams):  # type: ignore[no-untyped-def]
    from implicit.cpu.als import AlternatingLeastSquares

    return AlternatingLeastSquares(
        factors=params.factors,
        regularization=params.regularization,
        alpha=params.alpha,
        iterations=params.iterations,
        num_threads=params.num_threads,
        random_state=params.random_state,
    )


class FactorModel:
    """User and item factors with implicit's CPU ALS model around them."""

    def __init__(self, als: object, params: AlsParams) -> None:
        self._als = als
        self.params = params
        self._lock = threading.Lock()

    @classmethod
    def fit(cls, weighted: sp.csr_matrix, params: AlsParams, show_progress: bool = False) -> FactorModel:
        use_gpu = gpu_available() if params.use_gpu is None else params.use_gpu
        with single_threaded_blas():
            if use_gpu:
                from implicit.gpu.als import AlternatingLeastSquares as GpuAls

                gpu_model = GpuAls(
                    factors=params.factors,
                    regularization=params.regularization,
                    alpha=params.alpha,
                    iterations=params.iterations,
                    random_state=params.random_state,
                )
                gpu_model.fit(weighted, show_progress=show_progress)
                als = gpu_model.to_cpu()
                als.num_threads = params.num_threads
            else:
                als = _cpu_als(params)
                als.fit(weighted, show_progress=show_progress)
        return cls(als, params)

    @classmethod
    def from_arrays(
        cls, user_factors: np.ndarray, item_factors: np.ndarray, params: AlsParams
    ) -> FactorModel:
        with single_threaded_blas():
            als = _cpu_als(params)
        als.user_factors = np.ascontiguousarray(user_factors, dtype=np.float32)
        als.item_factors = np.ascontiguousarray(item_factors, dtype=np.float32)
        # The saved arrays are authoritative (a GPU fit may have padded the factor width).
        als.factors = als.item_factors.shape[1]
        return cls(als, params)

    @property
    def implicit_model(self) -> object:
        """The underlying ``implicit.cpu.als.AlternatingLeastSquares`` (for advanced use)."""
        return self._als

    @property
    def user_factors(self) -> np.ndarray:
        return self._als.user_factors  # type: ignore[attr-defined,no-any-return]

    @property
    def item_factors(self) -> np.ndarray:
        return self._als.item_factors  # type: ignore[attr-defined,no-any-return]

    def user_vector(self, row: int) -> np.ndarray | None:
        factors = self.user_factors
        return factors[row] if row < len(factors) else None

    def recalculate_user(self, weighted_row: sp.csr_matrix) -> np.ndarray:
        """A customer's vector from their (weighted) row alone, item factors held fixed."""
        return self._als.recalculate_user(0, weighted_row)  # type: ignore[attr-defined,no-any-return]

    def set_user(self, row: int, vector: np.ndarray, n_users: int) -> None:
        """Store a customer's vector, growing the table for customers new since the fit."""
        with self._lock:
            factors = self.user_factors
            if row >= len(factors) or n_users > len(factors):
                grown = np.zeros((max(row + 1, n_users), factors.shape[1]), dtype=factors.dtype)
                grown[: len(factors)] = factors
                grown[row] = vector
                self._als.user_factors = grown  # type: ignore[attr-defined]
            else:
                factors[row] = vector
            self._als._user_norms = None  # type: ignore[attr-defined]
            self._als._XtX = None  # type: ignore[attr-defined]

    def similar_items(
        self, item: int, n: int, filter_items: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        ids, scores = self._als.similar_items(  # type: ignore[attr-defined]
            item, N=n, filter_items=filter_items if filter_items is not None and len(filter_items) else None
        )
        return np.asarray(ids), np.asarray(scores)

    def explain(
        self, weighted_row: sp.csr_matrix, item: int, n: int
    ) -> tuple[float, list[tuple[int, float]]]:
        """implicit's explanation: the score and the customer's items that contribute most."""
        total, contributions, _ = self._als.explain(0, weighted_row, item, N=n)  # type: ignore[attr-defined]
        return float(total), [(int(i), float(s)) for i, s in contributions]

    def top_contributors(
        self, cols: np.ndarray, confidences: np.ndarray, candidates: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """For each candidate item, the customer's item that contributes most to its score.

        The same quantity as implicit's ``explain`` (Hu, Koren & Volinsky 2008, section 5), computed
        for all candidates with one Cholesky factorisation instead of one per candidate.
        Returns (column of the top contributor per candidate, its contribution).
        """
        if len(cols) == 0 or len(candidates) == 0:
            return np.full(len(candidates), -1), np.zeros(len(candidates))
        als = self._als
        item_factors = self.item_factors.astype(np.float64)
        liked = item_factors[cols]
        confidence = als.alpha * confidences.astype(np.float64)  # type: ignore[attr-defined]
        system = (
            als.YtY  # type: ignore[attr-defined]
            + als.regularization * np.eye(item_factors.shape[1])  # type: ignore[attr-defined]
            + (liked * (confidence - 1.0)[:, None]).T @ liked
        )
        weighted = scipy.linalg.cho_solve(scipy.linalg.cho_factor(system), item_factors[candidates].T)
        contributions = (liked @ weighted) * confidence[:, None]
        best = contributions.argmax(axis=0)
        return cols[best], contributions[best, np.arange(len(candidates))]
