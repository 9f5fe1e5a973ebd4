"""The built-in suites say clearly when and why they are skipped; the τ-bench suite's wiring."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from kefu import ScriptedChatModel
from kefu.evals.config import EvalConfig
from kefu.evals.suite import EvalContext, Skip
from kefu.evals.suites import tau_bench as tau_suite
from kefu.evals.suites.recsys import RecsysSuite
from kefu.evals.suites.retrieval import RetrievalSuite
from kefu.evals.suites.safety import SafetySuite
from kefu.evals.suites.tau_bench import TauBenchSuite

ENDPOINT = {"base_url": "http://127.0.0.1:9/v1", "model": "any"}


def _ctx(tmp_path: Path, options: dict | None = None, datasets: Path | None = None) -> EvalContext:
    return EvalContext(EvalConfig.model_validate({"options": options or {}}), tmp_path, datasets_dir=datasets)


def _reason(suite: object, ctx: EvalContext) -> str:
    with pytest.raises(Skip) as skipped:
        suite.run(ctx)  # type: ignore[attr-defined]
    return str(skipped.value)


def test_tau_bench_needs_a_customer_endpoint_and_the_tasks(tmp_path: Path):
    assert "no endpoint for the simulated customer" in _reason(TauBenchSuite(), _ctx(tmp_path))
    ctx = _ctx(tmp_path, {"tau_bench": {"user": ENDPOINT}})
    assert "../shared/datasets/tau_bench_retail" in _reason(TauBenchSuite(), ctx)


def test_parts_that_do_not_exist_yet_say_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    assert "safety" in _reason(SafetySuite(), _ctx(tmp_path))  # no datasets here, or no trained heads
    monkeypatch.setitem(sys.modules, "kefu.evals.retrieval", None)  # as if the package were absent
    assert "kefu.evals.retrieval is not importable" in _reason(RetrievalSuite(), _ctx(tmp_path))


def test_a_suite_whose_data_is_missing_skips_naming_it(tmp_path: Path):
    reason = _reason(RecsysSuite(), _ctx(tmp_path, {"recsys": {"datasets": ["movielens"]}}))
    assert "MovieLens: skipped — needs ../shared/datasets/movielens_latest_small" in reason


def test_the_tau_bench_suite_scores_tasks_and_keeps_transcripts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The endpoint is replaced by a scripted customer who leaves at once: a read-only task earns its
    reward (nothing to change, nothing to say); a task with a gold write does not."""
    folder = tmp_path / "datasets" / "tau_bench_retail"
    folder.mkdir(parents=True)
    read_only = {"user_id": "ava_kovacs_3448", "instruction": "Ask nothing.", "actions": [], "outputs": []}
    write = {**read_only, "actions": [{"name": "cancel_pending_order",
                                       "kwargs": {"order_id": "#W4184032", "reason": "no longer needed"}}]}  # fmt: skip
    (folder / "tasks_dev.json").write_text(json.dumps([read_only, write]), encoding="utf-8")
    customer = ScriptedChatModel(["###STOP###"] * 2)
    monkeypatch.setattr(tau_suite, "endpoint_model", lambda settings, default_temperature: customer)
    ctx = _ctx(tmp_path, {"tau_bench": {"user": ENDPOINT, "split": "dev"}}, tmp_path / "datasets")
    try:
        report = TauBenchSuite().run(ctx)
    finally:
        ctx.close()
    assert report.metrics["reward"].value == 0.5
    assert [(c.id, c.passed) for c in report.cases] == [("dev-0", True), ("dev-1", False)]
    assert "final database differs" in report.cases[1].detail
    assert "agent: kefu's embedded brain" in report.notes[0]


SAFETY_MD = """# Safety benchmarks

## Attacks on the input guard

| set | n | attack success | target |
|---|---:|---:|---:|
| AdvBench behaviours (seeded test half) | 100 | 1.0% | ≤ 2.0% ✅ |
| HarmBench test: copyright (out of scope, informative) | 80 | 12.5% | – |

## False refusals on benign messages

| set | n | refused or escalated | target |
|---|---:|---:|---:|
| XSTest safe prompts | 250 | 4.8% | ≤ 3.0% ❌ |
"""


def test_the_safety_reports_rates_become_metrics():
    from kefu.evals.suite import SuiteReport
    from kefu.evals.suites.safety import lift_tables

    report = SuiteReport(name="safety")
    assert lift_tables(SAFETY_MD, report) == 3
    values = {k: round(m.value, 4) for k, m in report.metrics.items()}
    assert values == {
        "attack_success.advbench_behaviours": 0.01,
        "attack_success.harmbench_test_copyright": 0.125,
        "attack_success_mean": 0.01,  # only sets with a target count
        "false_refusal.xstest_safe_prompts": 0.048,
        "false_refusal_mean": 0.048,
    }
    assert all(m.better == "lower" for m in report.metrics.values())
