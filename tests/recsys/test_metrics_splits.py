import math

import pytest

from kefu.recsys import Event, EventKind, EventTable, ranking_metrics
from kefu.recsys.evaluation import only_new
from kefu.recsys.splits import per_user_holdout, temporal_split


def test_ranking_metrics_by_hand() -> None:
    recommended = {"a": ["x", "y", "z"], "b": ["q"]}
    positives = {"a": {"y", "w"}, "b": {"q"}, "c": {"r"}, "d": set()}
    m = ranking_metrics(recommended, positives, k=3, catalogue_size=10)
    assert m.users == 3  # d has no positives; c has no list (zero everywhere)
    assert m.precision == pytest.approx((1 / 3 + 1 / 3 + 0) / 3)
    assert m.recall == pytest.approx((1 / 2 + 1 + 0) / 3)
    ndcg_a = (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    assert m.ndcg == pytest.approx((ndcg_a + 1 + 0) / 3)
    assert m.map == pytest.approx(((1 / 2) / 2 + 1 + 0) / 3)
    assert m.coverage == pytest.approx(4 / 10)


def test_temporal_split_and_only_new() -> None:
    table = EventTable.from_events(
        [
            Event("a", "x", timestamp=1.0),
            Event("a", "y", timestamp=5.0),
            Event("a", "x", timestamp=6.0),
            Event("b", "z", timestamp=2.0),
            Event("c", "z", timestamp=7.0),  # c is not in train: not evaluated
        ]
    )
    split = temporal_split(table, cutoff=5.0)
    assert len(split.train) == 2
    assert split.positives == {"a": {"y", "x"}}
    assert only_new(split).positives == {"a": {"y"}}


def test_per_user_holdout_is_seeded_and_keeps_small_users_in_train() -> None:
    events = [Event(u, f"i{i}", EventKind.RATING, value=5.0) for u in ("a", "b") for i in range(10)]
    events += [Event("c", f"i{i}", EventKind.RATING, value=5.0) for i in range(4)]
    table = EventTable.from_events(events)
    first = per_user_holdout(table, 0.2, seed=42, min_events=5)
    second = per_user_holdout(table, 0.2, seed=42, min_events=5)
    assert first.positives == second.positives
    assert set(first.positives) == {"a", "b"} and all(len(p) == 2 for p in first.positives.values())
    assert len(first.train) == 24 - 4
    held = {(u, i) for u, items in first.positives.items() for i in items}
    assert not held & set(zip(first.train.users.tolist(), first.train.items.tolist(), strict=True))
