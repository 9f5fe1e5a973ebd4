"""Training never sees a test item (needs the shared datasets; skipped in a user's clone)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kefu.safety.training.datasets import Datasets, normalized_key

pytestmark = pytest.mark.dataset


def test_seeded_splits_are_disjoint_and_stable(shared_datasets: Path):
    data = Datasets(shared_datasets)
    adv = data.advbench()
    assert not {normalized_key(t) for t in adv.train} & {normalized_key(t) for t in adv.test}
    assert data.advbench() == adv
    train, test = data.jailbreakbench()
    assert not set(train["goals"]) & set(test["goals"])
    tox_train, tox_test = data.davidson()
    assert len(tox_train) + len(tox_test) == 24783


def test_training_sets_hold_no_test_item(shared_datasets: Path):
    from kefu.safety.training.train import build_training_sets

    data = Datasets(shared_datasets)
    sets = build_training_sets(data)
    _, hb_test = data.harmbench()
    _, jbb_test = data.jailbreakbench()
    test_keys = {normalized_key(t) for t in data.advbench().test + jbb_test["prompts"]}
    test_keys |= {normalized_key(t) for group in hb_test.values() for t in group}
    for role in ("harmful", "jailbreak", "injection_pos"):
        assert not {normalized_key(t) for t in sets[role]} & test_keys, role
    xstest = {normalized_key(t) for group in data.xstest().values() for t in group}
    assert not {normalized_key(t) for t in sets["benign"]} & xstest
