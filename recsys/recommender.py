"""The recommender, scikit-style: ``fit(events)``, ``recommend(user)``, ``similar_items(item)``,
``explain(user, item)``, ``partial_fit(events)``, ``save`` / ``load``.

One object holds one fitted model plus the serving rules around it, because the rules need the
model's own view of the data (what the customer bought, how often items are rebought, what is
trending) and must move with it when the model is saved, loaded or swapped.

Lists:

- ``discover``: items new to the customer, ranked by the collaborative score blended with
  trending/popularity (``ScoreWeights``); everything the customer bought is filtered out;
- ``buy_again``: the customer's own purchases of items that people do rebuy (rebuy propensity at
  least ``min_rebuy_propensity``), ranked by recency-weighted purchase count x propensity;
- ``blend``: one ranking over everything, owned items included (what the offline "all items"
  evaluation measures);

and every list falls back to trending / popular items for a customer without history.

Concurrency: reads take one reference to the fitted state and never lock; ``partial_fit`` holds a
lock while it changes one customer's rows and vector; ``fit`` builds a whole new state and swaps it
in with one assignment.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import scipy.sparse as sp

from kefu.recsys.catalog import CatalogItem, CatalogView
from kefu.recsys.config import RecommenderConfig
from kefu.recsys.events import KIND_CODES, Event, EventKind, EventTable
from kefu.recsys.factor_model import FactorModel
from kefu.recsys.id_index import IdIndex
from kefu.recsys.interactions import Interactions, UserRows, build_matrices, contributions, decay
from kefu.recsys.item_signals import ItemSignals
from kefu.recsys.persistence import read_model_dir, write_model_dir
from kefu.recsys.scoring import (
    blend,
    buy_again_matrix,
    buy_again_row,
    item_priors,
    rebuy_factor,
    scaled,
    top_n,
)
from kefu.recsys.suggestions import Explanation, ListKind, RecommendationLists, Suggestion, SuggestionSource
from kefu.recsys.weighting import ConfidenceWeighting

EventsInput = EventTable | Interactions | Iterable[Event | Mapping[str, Any]]
_NO_COLS = np.zeros(0, dtype=np.int32)
_NO_VALUES = np.zeros(0, dtype=np.float32)


class NotFittedError(RuntimeError):
    """The recommender was used before ``fit`` or ``load``."""


@dataclass
class _Fitted:
    """Everything one fitted model serves from (replaced whole on refit)."""

    config: RecommenderConfig
    users: IdIndex
    items: IdIndex
    factors: FactorModel
    weighting: ConfidenceWeighting
    confidence: UserRows
    owned: UserRows
    buy_again: UserRows
    signals: ItemSignals
    reference_time: float | None
    catalog: CatalogView

    def __post_init__(self) -> None:
        self.prior = item_priors(self.config.weights, self.signals.trending, self.signals.popularity)
        self.rebuy = rebuy_factor(self.signals.rebuy_propensity, self.config.weights.rebuy_exponent)
        has_trend = self.reference_time is not None and bool(np.any(self.signals.trending))
        self.fallback_source: SuggestionSource = "trending" if has_trend else "popular"
        base = self.signals.trending if has_trend else self.signals.popularity
        # Ties (common among rarely bought items) are broken by all-time popularity.
        self.fallback = scaled(base) + 1e-3 * scaled(np.log1p(self.signals.popularity))


class Recommender:
    """Implicit-feedback recommender with buy-again and discover lists."""

    def __init__(self, config: RecommenderConfig | None = None) -> None:
        self._config = config or RecommenderConfig()
        self._state: _Fitted | None = None
        self._update_lock = threading.Lock()
        self.last_fit_seconds: dict[str, float] = {}
        """Wall time of each phase of the last ``fit`` (encode, matrices, signals, weighting, als)."""

    # ------------------------------------------------------------------ fitting

    @property
    def config(self) -> RecommenderConfig:
        return self._config

    @property
    def is_fitted(self) -> bool:
        return self._state is not None

    def fit(
        self,
        events: EventsInput,
        *,
        catalog: Iterable[CatalogItem] | None = None,
        show_progress: bool = False,
    ) -> Self:
        """Learn from all events (replacing any previous fit); returns self.

        ``catalog`` gives item names, categories and availability; when omitted, the catalogue of
        the previous fit (if any) is kept.
        """
        timings: dict[str, float] = {}
        start = time.perf_counter()
        data = events if isinstance(events, Interactions) else Interactions.from_events(events)
        timings["encode"] = time.perf_counter() - start
        entries = list(catalog) if catalog is not None else self._catalog_entries()
        self._state = _fit_state(data, self._config, entries, show_progress, timings)
        self.last_fit_seconds = timings
        return self

    def set_catalog(self, catalog: Iterable[CatalogItem]) -> None:
        """Replace names, categories and standing availability (no refit needed)."""
        state = self._require()
        state.catalog = CatalogView(state.items, catalog)

    def _catalog_entries(self) -> list[CatalogItem]:
        return self._state.catalog.entries() if self._state is not None else []

    def _require(self) -> _Fitted:
        state = self._state
        if state is None:
            raise NotFittedError("call fit(events) or Recommender.load(path) first")
        return state

    # ------------------------------------------------------------------ reading

    @property
    def users(self) -> Sequence[str]:
        """Customer ids the model knows (including ones first seen through ``partial_fit``)."""
        return self._require().users.ids

    @property
    def items(self) -> Sequence[str]:
        """Item ids the model can recommend."""
        return self._require().items.ids

    @property
    def reference_time(self) -> float | None:
        """Time of the newest event in the last fit (unix seconds), if events had times."""
        return self._require().reference_time

    def recommend(
        self,
        user_id: str,
        n: int = 10,
        *,
        kind: ListKind = "discover",
        unavailable: Iterable[str] = (),
        exclude_categories: Iterable[str] = (),
        explain: bool = True,
    ) -> list[Suggestion]:
        """Up to ``n`` suggestions for one customer.

        ``kind``: ``discover`` (new to the customer), ``buy_again`` (their repeat purchases) or
        ``blend`` (both in one ranking). ``unavailable`` and ``exclude_categories`` add to the
        catalogue's own availability for this call. Unknown customers get trending items.
        """
        state = self._require()
        user_id = str(user_id)
        blocked = state.catalog.blocked(unavailable, exclude_categories)
        if kind == "buy_again":
            return _buy_again(state, user_id, n, blocked)
        if kind not in ("discover", "blend"):
            raise ValueError(f"kind must be discover, buy_again or blend, not {kind!r}")
        return _ranked(state, user_id, n, kind, blocked, explain)

    def recommend_lists(
        self,
        user_id: str,
        *,
        n_buy_again: int = 5,
        n_discover: int = 10,
        unavailable: Iterable[str] = (),
        exclude_categories: Iterable[str] = (),
        explain: bool = True,
    ) -> RecommendationLists:
        """Both lists an assistant shows, computed against the same model state."""
        state = self._require()
        user_id = str(user_id)
        blocked = state.catalog.blocked(unavailable, exclude_categories)
        row = state.users.row(user_id)
        return RecommendationLists(
            user_id=user_id,
            buy_again=_buy_again(state, user_id, n_buy_again, blocked),
            discover=_ranked(state, user_id, n_discover, "discover", blocked, explain),
            cold_start=row is None or len(state.confidence.row(row)[0]) == 0,
        )

    def similar_items(
        self,
        item_id: str,
        n: int = 10,
        *,
        unavailable: Iterable[str] = (),
        exclude_categories: Iterable[str] = (),
    ) -> list[Suggestion]:
        """Items bought by the same customers as ``item_id`` (cosine of item factors)."""
        state = self._require()
        col = state.items.row(str(item_id))
        if col is None:
            return []
        blocked = state.catalog.blocked(unavailable, exclude_categories)
        blocked[col] = True
        n = min(n, int(len(blocked) - blocked.sum()))  # asking for more than exist: implicit pads and warns
        if n <= 0:
            return []
        ids, scores = state.factors.similar_items(col, n, np.flatnonzero(blocked))
        name = state.catalog.name(str(item_id))
        return [
            Suggestion(
                item_id=state.items.id(int(i)),
                score=float(s),
                source="similar",
                reason=f"Often bought by customers who bought {name}",
                because_of=(str(item_id),),
            )
            for i, s in zip(ids, scores, strict=True)
            if np.isfinite(s) and not blocked[int(i)]
        ][:n]

    def explain(self, user_id: str, item_id: str, n: int = 3) -> Explanation:
        """Why the model scores this item for this customer: implicit's ``explain``.

        Raises ``KeyError`` for an item the model has never seen.
        """
        state = self._require()
        user_id, item_id = str(user_id), str(item_id)
        col = state.items.row(item_id)
        if col is None:
            raise KeyError(f"unknown item {item_id!r}")
        row = state.users.row(user_id)
        cols, values = state.confidence.row(row) if row is not None else (_NO_COLS, _NO_VALUES)
        if len(cols) == 0:
            return Explanation(
                user_id, item_id, 0.0, (), "No history for this customer yet; suggested for its popularity"
            )
        assert row is not None  # a customer with history has a row
        weighted = _weighted_row(state, cols, values)
        total, parts = state.factors.explain(weighted, col, n)
        contributions_ = tuple((state.items.id(i), share) for i, share in parts)
        owned = set(state.owned.row(row)[0].tolist())
        others = [i for i, share in parts if i != col and share > 0]
        names = [state.catalog.name(state.items.id(i)) for i in others]
        verb = "bought" if others and others[0] in owned else "looked at"
        if names:
            text = f"Because you {verb} {_join(names)}"
        elif col in owned:
            text = "You bought this before"
        else:
            text = "Picked for you from customers with similar purchases"
        return Explanation(user_id, item_id, total, contributions_, text)

    # ------------------------------------------------------------------ updating

    def partial_fit(self, events: EventTable | Iterable[Event | Mapping[str, Any]]) -> int:
        """Fold new events into the affected customers' rows and vectors, without a refit.

        Item factors stay as fitted; each affected customer's vector is solved again from their
        updated row (implicit's ``recalculate_user``), so the next ``recommend`` reflects the
        events. Events for items the model has never seen wait for the next full ``fit``.
        Returns the number of customers updated.
        """
        table = EventTable.coerce(events)
        if len(table) == 0:
            return 0
        with self._update_lock:
            state = self._require()
            return _apply_events(state, table)

    # ------------------------------------------------------------------ batch scoring (evaluation)

    def _score_batch(
        self, user_ids: Sequence[str], kind: ListKind, weights: Any = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(rows of known customers, dense scores with owned items -inf for ``discover``)."""
        state = self._require()
        weights = weights or state.config.weights
        rows = np.array([state.users.row(str(u)) for u in user_ids if str(u) in state.users], dtype=np.int64)
        personal = state.factors.user_factors[rows] @ state.factors.item_factors.T
        prior = item_priors(weights, state.signals.trending, state.signals.popularity)
        buy = None
        if kind == "blend":
            rebuy = rebuy_factor(state.signals.rebuy_propensity, weights.rebuy_exponent)
            buy = buy_again_matrix(state.buy_again.rows_csr(rows), rebuy)
        scores = blend(weights, personal, prior, buy)
        if kind == "discover":
            owned = state.owned.rows_csr(rows).tocoo()
            scores[owned.row, owned.col] = -np.inf
        return rows, scores

    # ------------------------------------------------------------------ persistence

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model, its id maps, catalogue and config to a directory (see persistence)."""
        with self._update_lock:
            state = self._require()
            n_users = len(state.users)
            user_factors = state.factors.user_factors
            if len(user_factors) < n_users:
                padded = np.zeros((n_users, user_factors.shape[1]), dtype=user_factors.dtype)
                padded[: len(user_factors)] = user_factors
                user_factors = padded
            arrays: dict[str, np.ndarray] = {
                "user_factors": user_factors,
                "item_factors": state.factors.item_factors,
                "popularity": state.signals.popularity,
                "trending": state.signals.trending,
                "rebuy_propensity": state.signals.rebuy_propensity,
                "buyers": state.signals.buyers,
                "weighting_idf": state.weighting.idf,
            }
            for name in ("confidence", "owned", "buy_again"):
                matrix = getattr(state, name).to_csr(n_users)
                arrays[f"{name}_indptr"] = matrix.indptr.astype(np.int64)
                arrays[f"{name}_indices"] = matrix.indices.astype(np.int32)
                arrays[f"{name}_data"] = matrix.data.astype(np.float32)
            content = {
                "config": state.config.to_dict(),
                "users": list(state.users.ids),
                "items": list(state.items.ids),
                "catalog": [
                    {"item_id": c.item_id, "category": c.category, "name": c.name, "available": c.available}
                    for c in state.catalog.entries()
                ],
                "reference_time": state.reference_time,
                "weighting": {
                    "scheme": state.weighting.scheme,
                    "average_row_sum": state.weighting.average_row_sum,
                    "k1": state.weighting.k1,
                    "b": state.weighting.b,
                },
            }
        write_model_dir(path, content, arrays)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Recommender:
        """Read a directory written by ``save``; raises ``IncompatibleModelError`` for other formats."""
        manifest, arrays = read_model_dir(path)
        config = RecommenderConfig.from_dict(manifest["config"])
        users, items = IdIndex(manifest["users"]), IdIndex(manifest["items"])
        shape = (len(users), len(items))

        def rows(name: str) -> UserRows:
            matrix = sp.csr_matrix(
                (arrays[f"{name}_data"], arrays[f"{name}_indices"], arrays[f"{name}_indptr"]), shape=shape
            )
            return UserRows(matrix)

        weighting_spec = manifest["weighting"]
        state = _Fitted(
            config=config,
            users=users,
            items=items,
            factors=FactorModel.from_arrays(arrays["user_factors"], arrays["item_factors"], config.als),
            weighting=ConfidenceWeighting(
                weighting_spec["scheme"],
                arrays["weighting_idf"],
                float(weighting_spec["average_row_sum"]),
                float(weighting_spec["k1"]),
                float(weighting_spec["b"]),
            ),
            confidence=rows("confidence"),
            owned=rows("owned"),
            buy_again=rows("buy_again"),
            signals=ItemSignals(
                arrays["popularity"], arrays["trending"], arrays["rebuy_propensity"], arrays["buyers"]
            ),
            reference_time=manifest.get("reference_time"),
            catalog=CatalogView(items, [CatalogItem(**c) for c in manifest.get("catalog", [])]),
        )
        recommender = cls(config)
        recommender._state = state
        return recommender


# ---------------------------------------------------------------------- internals


def _fit_state(
    data: Interactions,
    config: RecommenderConfig,
    catalog: list[CatalogItem],
    show_progress: bool,
    timings: dict[str, float],
) -> _Fitted:
    clock = time.perf_counter()
    matrices = build_matrices(data, config)
    timings["matrices"] = time.perf_counter() - clock
    clock = time.perf_counter()
    signals = ItemSignals.from_interactions(data, config)
    timings["signals"] = time.perf_counter() - clock
    clock = time.perf_counter()
    weighting = ConfidenceWeighting.fit(
        matrices.confidence, config.als.weighting, config.als.bm25_k1, config.als.bm25_b
    )
    weighted = weighting.transform(matrices.confidence)
    timings["weighting"] = time.perf_counter() - clock
    clock = time.perf_counter()
    factors = FactorModel.fit(weighted, config.als, show_progress=show_progress)
    timings["als"] = time.perf_counter() - clock
    return _Fitted(
        config=config,
        users=data.users,
        items=data.items,
        factors=factors,
        weighting=weighting,
        confidence=UserRows(matrices.confidence),
        owned=UserRows(matrices.owned),
        buy_again=UserRows(matrices.buy_again),
        signals=signals,
        reference_time=data.reference_time,
        catalog=CatalogView(data.items, catalog),
    )


def _weighted_row(state: _Fitted, cols: np.ndarray, values: np.ndarray) -> sp.csr_matrix:
    weighted = state.weighting.transform_row(cols, values)
    return sp.csr_matrix(
        (weighted, cols.astype(np.int32), np.array([0, len(cols)], dtype=np.int32)),
        shape=(1, len(state.items)),
    )


def _ranked(
    state: _Fitted, user_id: str, n: int, kind: ListKind, blocked: np.ndarray, explain: bool
) -> list[Suggestion]:
    row = state.users.row(user_id)
    cols, values = state.confidence.row(row) if row is not None else (_NO_COLS, _NO_VALUES)
    vector = state.factors.user_vector(row) if row is not None else None
    owned_cols = state.owned.row(row)[0] if row is not None else _NO_COLS
    if kind == "discover":
        blocked[owned_cols] = True
    if vector is None or len(cols) == 0 or not np.any(vector):
        best = top_n(state.fallback, n, blocked)
        return [_popular(state, int(i), state.fallback[i]) for i in best]

    assert row is not None  # a customer with a vector has a row
    weights = state.config.weights
    buy = None
    buy_cols, buy_amounts = _NO_COLS, _NO_VALUES
    if kind == "blend":
        buy_cols, buy_amounts = state.buy_again.row(row)
        buy = buy_again_row(buy_cols, buy_amounts, state.rebuy, len(state.items))
    scores = blend(weights, state.factors.item_factors @ vector, state.prior, buy)
    best = top_n(scores, n, blocked)

    buy_part = weights.buy_again * buy[best] if buy is not None else np.zeros(len(best))
    personal_idx = best[buy_part * 2 < scores[best]] if buy is not None else best
    reasons: dict[int, tuple[str, tuple[str, ...]]] = {}
    if explain and len(personal_idx):
        top_cols, _ = state.factors.top_contributors(
            cols, state.weighting.transform_row(cols, values), personal_idx
        )
        owned = set(owned_cols.tolist())
        for item, source_col in zip(personal_idx.tolist(), top_cols.tolist(), strict=True):
            if source_col < 0:
                continue
            if source_col == item:
                reasons[item] = ("You bought this before", ())
                continue
            verb = "bought" if source_col in owned else "looked at"
            source_id = state.items.id(source_col)
            reasons[item] = (f"Because you {verb} {state.catalog.name(source_id)}", (source_id,))
    out: list[Suggestion] = []
    personal_set = set(personal_idx.tolist())
    for item in best.tolist():
        if item not in personal_set:
            out.append(_buy_again_suggestion(state, row, item, float(scores[item])))
            continue
        reason, because = reasons.get(item, ("Picked for you from customers with similar purchases", ()))
        out.append(Suggestion(state.items.id(item), float(scores[item]), "personal", reason, because))
    return out


def _buy_again(state: _Fitted, user_id: str, n: int, blocked: np.ndarray) -> list[Suggestion]:
    row = state.users.row(user_id)
    if row is None:
        return []
    cols, amounts = state.buy_again.row(row)
    propensity = state.signals.rebuy_propensity[cols]
    keep = (propensity >= state.config.min_rebuy_propensity) & ~blocked[cols]
    cols, scores = cols[keep], np.log1p(amounts[keep]) * propensity[keep]
    order = np.argsort(-scores, kind="stable")[:n]
    return [_buy_again_suggestion(state, row, int(cols[i]), float(scores[i])) for i in order]


def _buy_again_suggestion(state: _Fitted, row: int | None, col: int, score: float) -> Suggestion:
    count = 0.0
    if row is not None:
        bought_cols, bought = state.owned.row(row)
        where = np.searchsorted(bought_cols, col)
        if where < len(bought_cols) and bought_cols[where] == col:
            count = float(bought[where])
    share = round(100 * float(state.signals.rebuy_propensity[col]))
    times = "once" if count == 1 else f"{count:g} times"
    item_id = state.items.id(col)
    return Suggestion(
        item_id,
        score,
        "buy_again",
        f"You have bought this {times}; {share}% of its buyers buy it again",
        (item_id,),
    )


def _popular(state: _Fitted, col: int, score: float) -> Suggestion:
    reason = (
        "Trending in the shop right now"
        if state.fallback_source == "trending"
        else "Popular with our customers"
    )
    return Suggestion(state.items.id(col), float(score), state.fallback_source, reason)


def _apply_events(state: _Fitted, table: EventTable) -> int:
    config = state.config
    signed = contributions(table.kinds, table.weights, table.values, config.events)
    confidence_delta = signed * decay(table.timestamps, state.reference_time, config.als.half_life_days)
    is_purchase = table.kinds == KIND_CODES[EventKind.PURCHASE]
    is_return = table.kinds == KIND_CODES[EventKind.RETURN]
    is_rating = table.kinds == KIND_CODES[EventKind.RATING]
    buy_delta = (
        np.where(is_purchase, 1.0, -1.0)
        * table.weights
        * decay(table.timestamps, state.reference_time, config.buy_again_half_life_days)
    )
    cols = np.array(
        [state.items.row(str(i)) if str(i) in state.items else -1 for i in table.items], dtype=np.int64
    )
    known = cols >= 0
    updated = 0
    for user_id in dict.fromkeys(table.users[known].tolist()):
        mine = known & (table.users == user_id)
        row = state.users.add(user_id)
        new_cols, new_values = state.confidence.add(row, cols[mine], confidence_delta[mine])
        bought = mine & (is_purchase | is_rating)
        if bought.any():
            state.owned.add(row, cols[bought], table.weights[bought])
        net = mine & (is_purchase | is_return)
        if net.any():
            state.buy_again.add(row, cols[net], buy_delta[net])
        vector = state.factors.recalculate_user(_weighted_row(state, new_cols, new_values))
        state.factors.set_user(row, vector, len(state.users))
        updated += 1
    return updated


def _join(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]
