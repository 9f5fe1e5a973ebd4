"""Hyper-parameter search on a validation split carved from the training events.

The test split is never seen: ``tune`` takes training events only and carves its own validation
split from them (the last ``validation_days`` of train when events have times, else a seeded 20 %
per-customer holdout), or takes one the caller carved.

Search: coordinate descent over the ALS settings (one parameter at a time over its grid, keeping
the best, for ``passes`` rounds), then a full grid over the blend weights with the chosen model
(weights need no refit, only re-ranking). Fitted models are cached by ALS settings, so a second
pass only fits settings it has not tried.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kefu.recsys.config import RecommenderConfig, ScoreWeights
from kefu.recsys.evaluation import View, evaluate, only_new
from kefu.recsys.events import EventTable
from kefu.recsys.interactions import SECONDS_PER_DAY, Interactions
from kefu.recsys.recommender import Recommender
from kefu.recsys.splits import Holdout, per_user_holdout, temporal_split

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TuningGrid:
    """Values tried per setting (ALS by coordinate descent, weights exhaustively)."""

    regularization: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0, 50.0)
    alpha: tuple[float, ...] = (1.0, 5.0, 10.0, 20.0)
    factors: tuple[int, ...] = (32, 64, 128, 200)
    weighting: tuple[str, ...] = ("none", "bm25", "tfidf")
    half_life_days: tuple[float | None, ...] = (None, 60.0, 180.0)
    buy_again: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)
    trending: tuple[float, ...] = (0.0, 0.1, 0.3, 0.6)
    popularity: tuple[float, ...] = (0.0, 0.1, 0.3)
    rebuy_exponent: tuple[float, ...] = (0.0, 0.5, 1.0)

    def als_axes(self) -> list[tuple[str, tuple[Any, ...]]]:
        return [
            ("regularization", self.regularization),
            ("alpha", self.alpha),
            ("factors", self.factors),
            ("weighting", self.weighting),
            ("half_life_days", self.half_life_days),
        ]

    def weight_combos(self, view: View) -> list[dict[str, float]]:
        if view == "blend":
            axes = {
                "buy_again": self.buy_again,
                "trending": self.trending,
                "popularity": self.popularity,
                "rebuy_exponent": self.rebuy_exponent,
            }
        else:
            axes = {"trending": self.trending, "popularity": self.popularity}
        names = list(axes)
        return [dict(zip(names, values, strict=True)) for values in itertools.product(*axes.values())]


@dataclass(frozen=True)
class Trial:
    config: RecommenderConfig
    ndcg: float
    fit_seconds: float


@dataclass(frozen=True)
class TuningResult:
    best: RecommenderConfig
    """The chosen config (fit it on all training events before use)."""
    validation_ndcg: float
    """NDCG@k of ``best`` on the validation split."""
    trials: list[Trial] = field(default_factory=list)
    validation: str = ""
    """How the validation split was carved."""


def carve_validation(train: EventTable, validation_days: float = 30.0, seed: int = 1) -> tuple[Holdout, str]:
    """A validation split from training events only."""
    times = train.timestamps[~np.isnan(train.timestamps)]
    if len(times) == len(train) and len(times):
        cutoff = float(times.max()) - validation_days * SECONDS_PER_DAY
        return temporal_split(train, cutoff), f"last {validation_days:g} days of train"
    return per_user_holdout(train, 0.2, seed), f"seeded 20% per-customer holdout of train (seed {seed})"


def tune(
    train: EventTable,
    *,
    view: View = "discover",
    validation: Holdout | None = None,
    base: RecommenderConfig | None = None,
    grid: TuningGrid | None = None,
    passes: int = 2,
    k: int = 10,
    progress: Callable[[str], None] | None = None,
    model_cache: dict[Any, tuple[Recommender, float]] | None = None,
) -> TuningResult:
    """Search ALS settings and blend weights for NDCG@k on a validation split of ``train``.

    ``view="discover"`` scores new-to-the-customer items only (owned filtered, as served);
    ``"blend"`` scores one ranking where repurchases count too. ``model_cache`` lets two searches
    on the same validation split share fitted models.
    """
    grid = grid or TuningGrid()
    base = base or RecommenderConfig()
    described = "given by the caller"
    if validation is None:
        validation, described = carve_validation(train)
    if view == "discover":
        validation = only_new(validation)
    data = Interactions.from_events(validation.train)
    positives = validation.positives
    say = progress or log.info
    fitted: dict[Any, tuple[Recommender, float]] = {} if model_cache is None else model_cache
    trials: list[Trial] = []

    def score(config: RecommenderConfig) -> float:
        key = dataclasses.astuple(config.als)
        if key not in fitted:
            start = time.perf_counter()
            fitted[key] = (Recommender(config).fit(data), time.perf_counter() - start)
        model, seconds = fitted[key]
        ndcg = evaluate(model, positives, view, k, config.weights).ndcg
        trials.append(Trial(config, ndcg, seconds))
        say(f"  {_describe(config)} -> NDCG@{k} {ndcg:.4f}")
        return ndcg

    if view == "discover":
        base = base.with_weights(buy_again=0.0)
    best, best_score = base, score(base)
    for round_ in range(passes):
        say(f"pass {round_ + 1}: ALS settings")
        for name, values in grid.als_axes():
            for value in values:
                if getattr(best.als, name) == value:
                    continue
                candidate = best.with_als(**{name: value})
                candidate_score = score(candidate)
                if candidate_score > best_score:
                    best, best_score = candidate, candidate_score
        say(f"pass {round_ + 1}: blend weights")
        model, _ = fitted[dataclasses.astuple(best.als)]
        for combo in grid.weight_combos(view):
            weights = dataclasses.replace(best.weights, **combo)
            ndcg = evaluate(model, positives, view, k, weights).ndcg
            trials.append(Trial(dataclasses.replace(best, weights=weights), ndcg, 0.0))
            if ndcg > best_score:
                best, best_score = dataclasses.replace(best, weights=weights), ndcg
        say(f"  best so far: {_describe(best)} -> {best_score:.4f}")
    return TuningResult(best, best_score, trials, described)


def _describe(config: RecommenderConfig) -> str:
    a, w = config.als, config.weights
    return (
        f"factors={a.factors} reg={a.regularization:g} alpha={a.alpha:g} weighting={a.weighting} "
        f"half_life={a.half_life_days} | als={w.als:g} buy_again={w.buy_again:g} trending={w.trending:g} "
        f"popularity={w.popularity:g} rebuy^={w.rebuy_exponent:g}"
    )


__all__ = ["ScoreWeights", "Trial", "TuningGrid", "TuningResult", "carve_validation", "tune"]
