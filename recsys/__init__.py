"""kefu.recsys: the recommender as a library of its own (implicit ALS, serving rules, events, metrics).

Usable without the agent::

    from kefu.recsys import Recommender, Event

    model = Recommender().fit([Event("ann", "coffee"), Event("ann", "mug"), Event("bob", "coffee")])
    model.recommend("bob", n=5)          # discover: new-to-bob items, each with a reason
    model.recommend("ann", kind="buy_again")
    model.partial_fit([Event("bob", "filter")])   # visible in the next recommend, no refit
    model.save("models/shop"); Recommender.load("models/shop")

Everything not listed in ``__all__`` is internal and may change without notice.
"""

from kefu.recsys._blas import limit_blas_threads_early

# implicit asks for single-threaded BLAS; this must happen before numpy is first imported.
limit_blas_threads_early()

from kefu.recsys.catalog import CatalogItem  # noqa: E402
from kefu.recsys.config import AlsParams, EventWeights, RecommenderConfig, ScoreWeights  # noqa: E402
from kefu.recsys.datasets import load_movielens, load_online_retail, load_tau_bench_orders, tau_bench_catalog  # noqa: E402
from kefu.recsys.event_sources import AppendOnlyEventLog, Delivery, EventSource  # noqa: E402
from kefu.recsys.events import Event, EventKind, EventTable  # noqa: E402
from kefu.recsys.live_recommender import EventConsumer, LiveRecommender  # noqa: E402
from kefu.recsys.metrics import RankingMetrics, ranking_metrics  # noqa: E402
from kefu.recsys.persistence import IncompatibleModelError  # noqa: E402
from kefu.recsys.recommender import NotFittedError, Recommender  # noqa: E402
from kefu.recsys.redis_streams import RedisStreamEventSource  # noqa: E402
from kefu.recsys.suggestions import Explanation, RecommendationLists, Suggestion  # noqa: E402
from kefu.recsys.tuning import TuningGrid, TuningResult, tune  # noqa: E402

__all__ = [
    "AlsParams",
    "AppendOnlyEventLog",
    "CatalogItem",
    "Delivery",
    "Event",
    "EventConsumer",
    "EventKind",
    "EventSource",
    "EventTable",
    "EventWeights",
    "Explanation",
    "IncompatibleModelError",
    "LiveRecommender",
    "NotFittedError",
    "RankingMetrics",
    "RecommendationLists",
    "Recommender",
    "RecommenderConfig",
    "RedisStreamEventSource",
    "ScoreWeights",
    "Suggestion",
    "TuningGrid",
    "TuningResult",
    "load_movielens",
    "load_online_retail",
    "load_tau_bench_orders",
    "ranking_metrics",
    "tau_bench_catalog",
    "tune",
]
