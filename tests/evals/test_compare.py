"""`kefu eval compare`: what changed between two runs, and a non-zero exit past a threshold."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kefu.evals.cli import app
from kefu.evals.compare import compare_runs, render_markdown
from kefu.evals.config import EvalConfig, load_eval_config, parse_threshold
from kefu.evals.results_file import RunResults, write_results
from kefu.evals.suite import Case, SuiteReport


def _run(
    folder: Path, success: float, p95: float, *, cases: dict[str, bool], thresholds: dict | None = None
) -> Path:
    scenarios = SuiteReport(name="scenarios", cases=[Case(i, ok) for i, ok in cases.items()])
    scenarios.metric("success_rate", success)
    scenarios.metric("violations", 0, better="lower", unit="count")
    latency = SuiteReport(name="latency")
    latency.metric("total_p95_ms", p95, better="lower", unit="ms")
    latency.metric("turns", 40, better=None, unit="count")
    info = {
        "created": "t",
        "config": EvalConfig.model_validate({"thresholds": thresholds or {}}).model_dump(mode="json"),
    }
    folder.mkdir(parents=True)
    write_results(RunResults({"scenarios": scenarios, "latency": latency}, info), folder)
    return folder


THRESHOLDS = {"scenarios.success_rate": 0.02, "latency.*": "20%", "scenarios.violations": 0}


def test_a_drop_past_the_threshold_fails(tmp_path: Path):
    a = _run(tmp_path / "a", 0.95, 100.0, cases={"x": True, "y": True})
    b = _run(tmp_path / "b", 0.90, 110.0, cases={"x": True, "y": False}, thresholds=THRESHOLDS)
    from kefu.evals.results_file import load_results

    comparison = compare_runs(load_results(a), load_results(b))  # thresholds recorded in run B
    assert [c.name for c in comparison.regressions] == ["scenarios.success_rate"]
    latency = next(c for c in comparison.changes if c.name == "latency.total_p95_ms")
    assert latency.verdict == "worse" and not latency.regressed  # +10 % is within 20 %
    assert comparison.newly_failing == {"scenarios": ["y"]} and comparison.exit_code == 1
    text = render_markdown(comparison)
    assert "**1 metric(s) fell past their threshold.**" in text and "`y`" in text


def test_the_cli_exit_code_follows_the_thresholds(tmp_path: Path):
    a = _run(tmp_path / "a", 0.95, 100.0, cases={"x": True})
    b = _run(tmp_path / "b", 0.94, 130.0, cases={"x": True})
    config = tmp_path / "evals.yaml"
    config.write_text("thresholds:\n  scenarios.success_rate: 0.02\n", encoding="utf-8")
    runner = CliRunner()
    within = runner.invoke(app, ["compare", str(a), str(b), "--config", str(config)])
    assert within.exit_code == 0, within.output
    assert "no metric fell past its threshold" in within.output and "latency.total_p95_ms" in within.output
    config.write_text(
        "thresholds:\n  scenarios.success_rate: 0.02\n  latency.total_p95_ms: 10%\n", encoding="utf-8"
    )
    md = tmp_path / "diff.md"
    past = runner.invoke(app, ["compare", str(a), str(b), "-c", str(config), "--markdown", str(md)])
    assert past.exit_code == 1, past.output
    assert "fell past their threshold" in past.output and "allowed 10%" in md.read_text(encoding="utf-8")
    missing = runner.invoke(app, ["compare", str(a), str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "results.json" in missing.output


def test_a_thresholded_metric_missing_from_the_new_run_fails(tmp_path: Path):
    from kefu.evals.results_file import load_results

    a = load_results(_run(tmp_path / "a", 0.95, 100.0, cases={}))
    b = load_results(_run(tmp_path / "b", 0.95, 100.0, cases={}))
    b.suites["scenarios"] = SuiteReport(name="scenarios", status="skipped", reason="no shop")
    comparison = compare_runs(a, b, EvalConfig.model_validate({"thresholds": {"scenarios.*": 0}}))
    assert {c.name for c in comparison.regressions} == {"scenarios.success_rate", "scenarios.violations"}
    assert "missing in B (skipped: no shop)" in comparison.regressions[0].note
    assert comparison.status == ["scenarios: ok → skipped (no shop)"]


def test_an_improvement_never_fails(tmp_path: Path):
    from kefu.evals.results_file import load_results

    a = load_results(_run(tmp_path / "a", 0.80, 200.0, cases={}))
    b = load_results(_run(tmp_path / "b", 0.99, 50.0, cases={}))
    comparison = compare_runs(a, b, EvalConfig.model_validate({"thresholds": {"*": 0}}))
    assert comparison.exit_code == 0
    assert {c.name: c.verdict for c in comparison.changes}["latency.total_p95_ms"] == "better"


def test_thresholds_are_checked_when_the_config_loads(tmp_path: Path):
    assert parse_threshold(0.02) == (0.02, False) and parse_threshold("5%") == (0.05, True)
    bad = tmp_path / "bad.yaml"
    bad.write_text("thresholds: {nlu.accuracy: lots}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="neither a number nor a percentage"):
        load_eval_config(bad)
    bad.write_text("threshold: {nlu.accuracy: 0.1}\n", encoding="utf-8")  # misspelt key
    with pytest.raises(ValueError, match="threshold"):
        load_eval_config(bad)
