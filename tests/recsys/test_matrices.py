"""Events -> matrices, confidence weighting, item signals."""

import numpy as np
import pytest
import scipy.sparse as sp
from implicit.nearest_neighbours import bm25_weight, tfidf_weight

from kefu.recsys import Event, EventKind, EventWeights, RecommenderConfig
from kefu.recsys.interactions import Interactions, UserRows, build_matrices
from kefu.recsys.item_signals import ItemSignals
from kefu.recsys.weighting import ConfidenceWeighting

DAY = 86_400.0


def _matrices(events, config=None):  # type: ignore[no-untyped-def]
    data = Interactions.from_events(events)
    return data, build_matrices(data, config or RecommenderConfig())


def test_confidence_owned_and_buy_again() -> None:
    events = [
        Event("ann", "tea", EventKind.PURCHASE, 0.0),
        Event("ann", "tea", EventKind.PURCHASE, 5 * DAY),
        Event("ann", "mug", EventKind.PURCHASE, 5 * DAY),
        Event("ann", "mug", EventKind.RETURN, 6 * DAY),
        Event("ann", "pot", EventKind.VIEW, 6 * DAY),
        Event("bob", "film", EventKind.RATING, 6 * DAY, value=2.0),
        Event("bob", "tea", EventKind.RATING, 6 * DAY, value=5.0),
    ]
    data, m = _matrices(events)
    ann, bob = data.users.row("ann"), data.users.row("bob")
    col = data.items.row
    dense = m.confidence.toarray()
    assert dense[ann, col("tea")] == 2.0
    assert dense[ann, col("mug")] == 0.0  # bought then returned
    assert dense[ann, col("pot")] == pytest.approx(0.1)
    assert dense[bob, col("film")] == 0.0  # a low rating is not a like
    assert dense[bob, col("tea")] == 1.0
    owned = m.owned.toarray()
    assert owned[ann, col("mug")] == 1.0 and owned[ann, col("pot")] == 0.0
    assert owned[bob, col("film")] == 1.0  # rated means seen: filtered from discover
    assert m.buy_again.toarray()[ann, col("mug")] == 0.0


def test_half_life_decays_old_events() -> None:
    events = [Event("ann", "old", EventKind.PURCHASE, 0.0), Event("ann", "new", EventKind.PURCHASE, 60 * DAY)]
    config = RecommenderConfig().with_als(half_life_days=60.0)
    data, m = _matrices(events, config)
    dense = m.confidence.toarray()[0]
    assert dense[data.items.row("old")] == pytest.approx(0.5)
    assert dense[data.items.row("new")] == pytest.approx(1.0)


@pytest.mark.parametrize("scheme", ["none", "bm25", "tfidf"])
def test_row_weighting_matches_whole_matrix(scheme: str) -> None:
    rng = np.random.default_rng(0)
    matrix = sp.random(40, 30, density=0.2, random_state=1, format="csr", dtype=np.float32)
    matrix.data = rng.integers(1, 5, matrix.nnz).astype(np.float32)
    weighting = ConfidenceWeighting.fit(matrix, scheme)  # type: ignore[arg-type]
    whole = weighting.transform(matrix)
    for user in range(matrix.shape[0]):
        start, end = matrix.indptr[user], matrix.indptr[user + 1]
        row = weighting.transform_row(matrix.indices[start:end], matrix.data[start:end])
        np.testing.assert_allclose(row, whole.data[whole.indptr[user] : whole.indptr[user + 1]], rtol=1e-5)
    if scheme != "none":
        reference = (bm25_weight(matrix) if scheme == "bm25" else tfidf_weight(matrix)).tocsr()
        positive = reference.data > 0
        np.testing.assert_allclose(whole.data[positive], reference.data[positive], rtol=1e-5)


def test_rebuy_propensity_learns_which_items_are_rebought(events) -> None:  # type: ignore[no-untyped-def]
    data = Interactions.from_events(events)
    signals = ItemSignals.from_interactions(data, RecommenderConfig())
    coffee, sofa = data.items.row("coffee"), data.items.row("sofa")
    assert signals.rebuy_propensity[coffee] > 0.6
    assert signals.rebuy_propensity[sofa] < 0.1
    assert signals.buyers[coffee] == 90
    assert signals.trending[coffee] > 0 and signals.popularity[coffee] >= signals.trending[coffee]


def test_user_rows_overlay() -> None:
    base = sp.csr_matrix(np.array([[1, 0, 2], [0, 0, 0]], dtype=np.float32))
    rows = UserRows(base)
    cols, values = rows.add(0, np.array([1, 2]), np.array([3.0, -2.0]))
    assert cols.tolist() == [0, 1] and values.tolist() == [1.0, 3.0]
    rows.add(3, np.array([2]), np.array([1.0]))  # a new user beyond the fitted rows
    merged = rows.to_csr()
    assert merged.shape == (4, 3)
    assert merged.toarray().tolist() == [[1, 3, 0], [0, 0, 0], [0, 0, 0], [0, 0, 1]]


def test_event_weights_cover_every_kind() -> None:
    weights = EventWeights()
    assert [weights.for_kind(k) for k in EventKind] == [1.0, -1.0, 0.1, 0.25, 1.0]
