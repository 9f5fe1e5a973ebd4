"""The public surface of kefu.recsys is pinned: changing it must be a deliberate edit here."""

import kefu.recsys as recsys

EXPECTED = {
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
}


def test_all_is_pinned() -> None:
    assert set(recsys.__all__) == EXPECTED
    for name in recsys.__all__:
        assert getattr(recsys, name) is not None


def test_recommender_methods() -> None:
    for method in (
        "fit",
        "recommend",
        "recommend_lists",
        "similar_items",
        "explain",
        "partial_fit",
        "save",
        "load",
    ):
        assert callable(getattr(recsys.Recommender, method))


def test_fit_runs_with_single_threaded_blas(events, config, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """implicit warns when BLAS may use several threads; our fit must never trigger it."""
    import warnings

    import implicit.utils

    monkeypatch.setattr(implicit.utils, "_checked_blas_config", False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        recsys.Recommender(config).fit(events)
