import dataclasses

from kefu.recsys import EventTable, tune
from kefu.recsys.splits import per_user_holdout
from kefu.recsys.tuning import TuningGrid, carve_validation


def test_tune_searches_on_validation_only(make_events, config) -> None:  # type: ignore[no-untyped-def]
    table = EventTable.from_events(make_events(n_users=120, seed=3))
    grid = TuningGrid(
        regularization=(0.1, 5.0),
        alpha=(1.0, 5.0),
        factors=(8,),
        weighting=("none", "bm25"),
        half_life_days=(None,),
        trending=(0.0, 0.3),
        popularity=(0.0,),
    )
    validation = per_user_holdout(table, 0.2, seed=1, min_events=5)
    result = tune(table, view="discover", validation=validation, base=config, grid=grid, passes=1)
    assert result.validation_ndcg >= max(t.ndcg for t in result.trials) - 1e-12
    assert result.validation_ndcg >= result.trials[0].ndcg  # never worse than where it started
    assert result.best.als.factors == 8 and result.best.weights.buy_again == 0.0
    assert {t.config.als.weighting for t in result.trials} == {"none", "bm25"}
    # The chosen config is a plain value that round-trips through JSON-able dicts.
    assert type(result.best).from_dict(result.best.to_dict()) == result.best


def test_blend_view_tunes_buy_again_weights(make_events, config) -> None:  # type: ignore[no-untyped-def]
    table = EventTable.from_events(make_events(n_users=60, seed=4))
    grid = TuningGrid(
        regularization=(0.1,),
        alpha=(5.0,),
        factors=(8,),
        weighting=("none",),
        half_life_days=(None,),
        buy_again=(0.5, 2.0),
        trending=(0.0,),
        popularity=(0.0,),
        rebuy_exponent=(0.0, 1.0),
    )
    result = tune(table, view="blend", base=config, grid=grid, passes=1)
    assert "last 30 days" in result.validation
    assert len({dataclasses.astuple(t.config.weights) for t in result.trials}) >= 4


def test_carve_validation_without_times_is_a_holdout(make_events) -> None:  # type: ignore[no-untyped-def]
    events = [dataclasses.replace(e, timestamp=None) for e in make_events(n_users=30)]
    holdout, described = carve_validation(EventTable.from_events(events))
    assert "holdout" in described and holdout.positives
