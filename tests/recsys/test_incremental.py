"""New events reach the next recommendation without a refit."""

import numpy as np

from kefu.recsys import Event, EventKind, Recommender


def _group(item: str) -> str:
    return item.split("-")[0]


def test_partial_fit_changes_the_next_recommendation(events, config) -> None:  # type: ignore[no-untyped-def]
    model = Recommender(config).fit(events)
    before = model.recommend("u1", 5)  # a kitchen customer
    vector_before = model._require().factors.user_factors[model._require().users.row("u1")].copy()
    bought = before[0].item_id
    # u1 buys what we suggested, then goes on an office spree (half of the office items, a lot).
    new_events = [Event("u1", bought)] + [Event("u1", f"office-{i}") for i in range(5) for _ in range(4)]
    assert model.partial_fit(new_events) == 1
    after = model.recommend("u1", 5)
    assert bought not in {s.item_id for s in after}  # just bought: filtered at once
    assert after != before
    assert sum(s.item_id in {f"office-{i}" for i in range(5, 10)} for s in after) >= 3
    vector_after = model._require().factors.user_factors[model._require().users.row("u1")]
    assert not np.allclose(vector_before, vector_after)


def test_new_customer_gets_personal_suggestions_after_first_events(events, config) -> None:  # type: ignore[no-untyped-def]
    model = Recommender(config).fit(events)
    assert model.recommend("fresh", 3)[0].source == "trending"
    model.partial_fit([Event("fresh", f"garden-{i}", EventKind.PURCHASE) for i in range(4)])
    suggestions = model.recommend("fresh", 4)
    assert all(s.source == "personal" for s in suggestions)
    assert sum(_group(s.item_id) == "garden" for s in suggestions) >= 3
    assert "fresh" in model.users


def test_returns_and_unknown_items(events, config) -> None:  # type: ignore[no-untyped-def]
    model = Recommender(config).fit(events)
    model.partial_fit([Event("u3", "sofa", EventKind.RETURN)])
    assert "sofa" not in {s.item_id for s in model.recommend("u3", 10, kind="buy_again")}
    # Events for items the model has never seen wait for the next refit.
    assert model.partial_fit([Event("u3", "brand-new-item")]) == 0
    assert model.partial_fit([]) == 0


def test_incremental_vector_equals_a_solve_on_the_rebuilt_row(make_events, config) -> None:  # type: ignore[no-untyped-def]
    """partial_fit = implicit's recalculate_user on the row a rebuild from all events would give."""
    from kefu.recsys.interactions import Interactions, build_matrices

    events = make_events()
    extra = [Event("u2", f"garden-{i}") for i in range(5) for _ in range(4)]
    model = Recommender(config).fit(events)
    model.partial_fit(extra)
    state = model._require()

    rebuilt = build_matrices(Interactions.from_events(events + extra), config).confidence
    # Same ids (no new items or customers), so rows line up.
    row = rebuilt[state.users.row("u2")]
    expected = state.factors.implicit_model.recalculate_user(0, row)  # type: ignore[attr-defined]
    np.testing.assert_allclose(
        state.factors.user_factors[state.users.row("u2")], expected, rtol=1e-4, atol=1e-6
    )
    top = [_group(s.item_id) for s in model.recommend("u2", 3)]
    assert top.count("garden") >= 2, top
