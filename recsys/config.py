"""Everything that shapes a model, as one JSON-serialisable value.

The config travels with a saved model (in its manifest) and is what ``tune`` returns, so a tuned
setting can be reviewed, diffed and replayed. Defaults for the factor model are implicit's own
defaults: "untuned ALS" in the benchmarks means exactly ``RecommenderConfig()``'s ALS.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from kefu.recsys.events import EventKind

Weighting = Literal["none", "bm25", "tfidf"]
WEIGHTINGS: tuple[Weighting, ...] = ("none", "bm25", "tfidf")


@dataclass(frozen=True)
class EventWeights:
    """How much one event of each kind adds to the customer-item confidence."""

    purchase: float = 1.0
    """A bought order line: the strongest signal."""
    returned: float = -1.0
    """A return takes a purchase back (confidence is floored at zero)."""
    view: float = 0.1
    """A product page view: weak but plentiful."""
    click: float = 0.25
    """A click on a suggestion or a search result."""
    rating: float = 1.0
    """A rating at or above ``rating_threshold``; lower ratings add nothing."""
    rating_threshold: float = 4.0

    def for_kind(self, kind: EventKind) -> float:
        return {
            EventKind.PURCHASE: self.purchase,
            EventKind.RETURN: self.returned,
            EventKind.VIEW: self.view,
            EventKind.CLICK: self.click,
            EventKind.RATING: self.rating,
        }[kind]


@dataclass(frozen=True)
class AlsParams:
    """implicit ``AlternatingLeastSquares`` settings plus the confidence weighting before it."""

    factors: int = 100
    regularization: float = 0.01
    alpha: float = 1.0
    iterations: int = 15
    weighting: Weighting = "none"
    """Confidence weighting of the user x item matrix (implicit.nearest_neighbours' formulas)."""
    bm25_k1: float = 100.0
    bm25_b: float = 0.8
    half_life_days: float | None = None
    """Older interactions count less: weight halves every this many days (None: no decay)."""
    random_state: int | None = 0
    num_threads: int = 0
    """implicit's own threads (0: all cores); BLAS is kept single-threaded regardless."""
    use_gpu: bool | None = None
    """None: use implicit's CUDA build when ``implicit.gpu.HAS_CUDA``; serving is always on CPU."""

    def __post_init__(self) -> None:
        if self.weighting not in WEIGHTINGS:
            raise ValueError(f"weighting must be one of {WEIGHTINGS}, not {self.weighting!r}")
        if self.factors <= 0 or self.iterations <= 0:
            raise ValueError("factors and iterations must be positive")


@dataclass(frozen=True)
class ScoreWeights:
    """How the signals are blended into one ranking score.

    Each signal is scaled to at most 1 per customer before blending, so the weights compare
    across models and datasets.
    """

    als: float = 1.0
    """The collaborative-filtering score."""
    buy_again: float = 1.0
    """The customer's own (recency-weighted) repeat purchases; used only where owned items may
    be shown (the ``blend`` list)."""
    trending: float = 0.0
    """Recency-weighted item popularity."""
    popularity: float = 0.0
    """All-time item popularity (log-scaled)."""
    rebuy_exponent: float = 0.0
    """Buy-again score is multiplied by rebuy propensity to this power (0: ignore propensity)."""


@dataclass(frozen=True)
class RecommenderConfig:
    """The whole recommender's settings."""

    als: AlsParams = field(default_factory=AlsParams)
    events: EventWeights = field(default_factory=EventWeights)
    weights: ScoreWeights = field(default_factory=ScoreWeights)
    trending_half_life_days: float = 14.0
    buy_again_half_life_days: float | None = 90.0
    rebuy_prior_strength: float = 5.0
    """Pseudo-count pulling an item's rebuy rate towards the shop-wide rate (few buyers, little
    evidence)."""
    min_rebuy_propensity: float = 0.15
    """Only items at least this likely to be bought again go on the *buy again* list."""
    rebuy_gap_days: float = 1.0
    """Purchases of the same item less than this apart are one buying occasion."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RecommenderConfig:
        """Inverse of ``to_dict``; unknown keys are an error (a typo must not be silently ignored)."""
        rest: dict[str, Any] = dict(data)
        als = AlsParams(**rest.pop("als", {}))
        events = EventWeights(**rest.pop("events", {}))
        weights = ScoreWeights(**rest.pop("weights", {}))
        return cls(als=als, events=events, weights=weights, **rest)

    def with_als(self, **changes: Any) -> RecommenderConfig:
        return dataclasses.replace(self, als=dataclasses.replace(self.als, **changes))

    def with_weights(self, **changes: Any) -> RecommenderConfig:
        return dataclasses.replace(self, weights=dataclasses.replace(self.weights, **changes))
