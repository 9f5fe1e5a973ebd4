import json

import numpy as np
import pytest

from kefu.recsys import Event, IncompatibleModelError, Recommender


def test_save_load_round_trip(tmp_path, events, catalog, config) -> None:  # type: ignore[no-untyped-def]
    model = Recommender(config).fit(events, catalog=catalog)
    model.partial_fit([Event("newcomer", "garden-1"), Event("u1", "office-2")])
    path = tmp_path / "model"
    model.save(path)
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["format"] == "kefu.recsys.model" and manifest["format_version"] == 1
    assert manifest["written_by"]["implicit"]
    assert "newcomer" in manifest["users"]

    loaded = Recommender.load(path)
    assert loaded.config == model.config
    assert list(loaded.users) == list(model.users)
    for user in ("u1", "u5", "newcomer", "stranger"):
        assert loaded.recommend(user, 5) == model.recommend(user, 5)
        assert loaded.recommend(user, 5, kind="buy_again") == model.recommend(user, 5, kind="buy_again")
    assert loaded.similar_items("garden-1", 3) == model.similar_items("garden-1", 3)
    assert loaded.explain("u1", "kitchen-3") == model.explain("u1", "kitchen-3")
    # The catalogue travels with the model.
    assert loaded.recommend("u1", 5, exclude_categories=["kitchen"]) == model.recommend(
        "u1", 5, exclude_categories=["kitchen"]
    )
    # Saving again over the same directory replaces it atomically.
    loaded.save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_refuses_other_format_versions(tmp_path, events, config) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "model"
    Recommender(config).fit(events).save(path)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["format_version"] = 99
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IncompatibleModelError, match="format 99.*reads format 1.*Refit"):
        Recommender.load(path)


def test_refuses_non_models(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(IncompatibleModelError, match="not a kefu.recsys model"):
        Recommender.load(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(IncompatibleModelError, match="something-else"):
        Recommender.load(tmp_path)


def test_refuses_damaged_arrays(tmp_path, events, config) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "model"
    Recommender(config).fit(events).save(path)
    with np.load(path / "arrays.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["item_factors"] = arrays["item_factors"][:3]
    np.savez(path / "arrays.npz", **arrays)
    with pytest.raises(IncompatibleModelError, match="item_factors"):
        Recommender.load(path)
