"""Fit, the three lists, filters, cold start, similar items and explanations."""

import numpy as np
import pytest
import scipy.sparse as sp

from kefu.recsys import CatalogItem, NotFittedError, Recommender


@pytest.fixture
def model(events, catalog, config) -> Recommender:  # type: ignore[no-untyped-def]
    return Recommender(config).fit(events, catalog=catalog)


def _group(item: str) -> str:
    return item.split("-")[0]


def test_not_fitted() -> None:
    with pytest.raises(NotFittedError):
        Recommender().recommend("u0")


def test_fit_records_ids_and_timings(model: Recommender) -> None:
    assert len(model.users) == 90 and "coffee" in model.items
    assert set(model.last_fit_seconds) == {"encode", "matrices", "signals", "weighting", "als"}


def test_discover_is_personal_new_and_explained(model: Recommender, events) -> None:  # type: ignore[no-untyped-def]
    owned = {e.item_id for e in events if e.user_id == "u1"}
    suggestions = model.recommend("u1", 5)
    assert len(suggestions) == 5
    assert not owned & {s.item_id for s in suggestions}
    # u1 is a kitchen customer: most suggestions come from the kitchen group.
    assert sum(_group(s.item_id) == "kitchen" for s in suggestions) >= 3
    assert [s.score for s in suggestions] == sorted((s.score for s in suggestions), reverse=True)
    for s in suggestions:
        assert s.source == "personal" and s.reason
        if s.because_of:
            assert s.because_of[0] in owned
            assert s.reason.startswith("Because you bought")


def test_filters_unavailable_and_categories(model: Recommender, catalog) -> None:  # type: ignore[no-untyped-def]
    first = [s.item_id for s in model.recommend("u1", 5)]
    shown = model.recommend("u1", 5, unavailable=[first[0]], exclude_categories=["kitchen"])
    assert first[0] not in {s.item_id for s in shown}
    assert all(_group(s.item_id) != "kitchen" for s in shown)
    # The catalogue's own availability applies to every call.
    model.set_catalog([*catalog, CatalogItem(first[1], category="kitchen", available=False)])
    assert first[1] not in {s.item_id for s in model.recommend("u1", 10)}


def test_buy_again_only_for_rebuy_items(model: Recommender) -> None:
    # u3 bought coffee twice and a sofa once: coffee is rebought by most buyers, sofas never.
    again = model.recommend("u3", 10, kind="buy_again")
    ids = [s.item_id for s in again]
    assert ids[0] == "coffee"
    assert "sofa" not in ids
    assert again[0].source == "buy_again" and "2 times" in again[0].reason
    assert model.recommend("u3", 10, kind="buy_again", exclude_categories=["food"])[0].item_id != "coffee"


def test_blend_ranks_owned_and_new_together(model: Recommender, events) -> None:  # type: ignore[no-untyped-def]
    owned = {e.item_id for e in events if e.user_id == "u3"}
    blended = model.recommend("u3", 10, kind="blend")
    assert blended[0].item_id in owned
    assert {s.source for s in blended} <= {"buy_again", "personal"}


def test_cold_start_gets_trending(model: Recommender) -> None:
    suggestions = model.recommend("someone-new", 3)
    assert suggestions[0].item_id == "coffee"
    assert all(s.source == "trending" for s in suggestions)
    assert model.recommend("someone-new", 3, kind="buy_again") == []
    lists = model.recommend_lists("someone-new")
    assert lists.cold_start and lists.buy_again == [] and len(lists.discover) == 10


def test_recommend_lists(model: Recommender) -> None:
    lists = model.recommend_lists("u3", n_buy_again=2, n_discover=4)
    assert not lists.cold_start
    assert [s.item_id for s in lists.buy_again][:1] == ["coffee"]
    assert len(lists.discover) == 4
    assert not {s.item_id for s in lists.buy_again} & {s.item_id for s in lists.discover}


def test_similar_items(model: Recommender) -> None:
    similar = model.similar_items("garden-1", 5)
    assert len(similar) == 5 and "garden-1" not in {s.item_id for s in similar}
    assert sum(_group(s.item_id) == "garden" for s in similar) >= 3
    assert similar[0].source == "similar" and "Garden thing 1" in similar[0].reason
    assert all(
        _group(s.item_id) != "garden"
        for s in model.similar_items("garden-1", 5, exclude_categories=["garden"])
    )
    assert model.similar_items("unknown", 5) == []


def test_explain_uses_implicit_explain(model: Recommender, events) -> None:  # type: ignore[no-untyped-def]
    target = model.recommend("u1", 1)[0].item_id
    explanation = model.explain("u1", target, n=3)
    owned = {e.item_id for e in events if e.user_id == "u1"}
    assert explanation.score > 0
    assert len(explanation.contributions) == 3
    assert {i for i, _ in explanation.contributions} <= owned
    assert explanation.text.startswith("Because you bought")
    with pytest.raises(KeyError):
        model.explain("u1", "no-such-item")
    assert model.explain("nobody", target).contributions == ()


def test_batched_reasons_agree_with_implicit_explain(model: Recommender) -> None:
    """The recommend path's vectorised explanation = argmax of implicit's explain, per item."""
    state = model._require()
    user = state.users.row("u4")
    cols, values = state.confidence.row(user)
    weighted = state.weighting.transform_row(cols, values)
    row = sp.csr_matrix((weighted, cols, [0, len(cols)]), shape=(1, len(state.items)))
    candidates = np.arange(len(state.items))
    top_cols, _ = state.factors.top_contributors(cols, weighted, candidates)
    for item in candidates:
        _, parts = state.factors.explain(row, int(item), 1)
        assert parts[0][0] == top_cols[item]


def test_every_reason_is_one_of_the_declared_phrasings(model: Recommender) -> None:
    """The safety layer trusts the wording of `EXPLANATION_PATTERNS` and checks only their name slots, so
    every reason the recommender writes must have one of those forms."""
    import re

    from kefu.recsys.suggestions import EXPLANATION_PATTERNS

    reasons = {
        s.reason
        for user in ("u1", "u3", "u4", "someone-new")
        for kind in ("discover", "buy_again", "blend")
        for s in model.recommend(user, 10, kind=kind)  # type: ignore[arg-type]
    }
    reasons |= {s.reason for s in model.similar_items("garden-1", 5)}
    reasons.add(model.explain("u1", model.recommend("u1", 1)[0].item_id).text)
    assert len(reasons) > 5
    for reason in reasons:
        assert any(re.fullmatch(p, reason) for p in EXPLANATION_PATTERNS), reason
