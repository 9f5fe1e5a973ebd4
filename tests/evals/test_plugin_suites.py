"""Suites from plugins: registered in code or declared under the entry-point group `kefu.eval_suites`."""

from __future__ import annotations

import importlib.metadata
import json
import sys
from pathlib import Path

import pytest

from kefu.evals import registry
from kefu.evals.config import EvalConfig
from kefu.evals.harness import default_suites, run_evaluation
from kefu.evals.registry import ENTRY_POINT_GROUP, available_suites, load_suite

PLUGIN = """
from kefu.evals import Skip, Suite, SuiteReport


class ReturnsPolicySuite(Suite):
    name = "returns_policy"
    description = "Answers about our 60-day return window."

    def run(self, ctx):
        if ctx.options("returns_policy").get("skip"):
            raise Skip("told to skip")
        report = self.report()
        report.metric("accuracy", 0.9, headline=True)
        return report
"""


@pytest.fixture
def installed_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A package `acme_evals` on sys.path and an entry point naming its suite, as `pip install` would make."""
    (tmp_path / "acme_evals.py").write_text(PLUGIN, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    ep = importlib.metadata.EntryPoint("returns_policy", "acme_evals:ReturnsPolicySuite", ENTRY_POINT_GROUP)
    real = registry.entry_points

    def fake(*, group: str) -> list[importlib.metadata.EntryPoint]:
        return [ep] if group == ENTRY_POINT_GROUP else list(real(group=group))

    monkeypatch.setattr(registry, "entry_points", fake)
    yield
    sys.modules.pop("acme_evals", None)


def test_an_entry_point_suite_is_found_and_runs_by_default(installed_plugin: None, tmp_path: Path):
    suites = available_suites()
    assert suites["returns_policy"].origin == "entry point acme_evals:ReturnsPolicySuite"
    assert list(suites)[:8] == list(registry.BUILTIN)  # built-in first, in run order
    assert "returns_policy" in default_suites(EvalConfig())
    results, run_dir = run_evaluation(["returns_policy"], EvalConfig(), tmp_path / "run")
    assert results.suites["returns_policy"].metrics["accuracy"].value == 0.9
    data = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    assert data["metrics"] == {"returns_policy.accuracy": 0.9}


def test_a_suite_reads_its_options_and_may_skip(installed_plugin: None, tmp_path: Path):
    config = EvalConfig.model_validate({"options": {"returns_policy": {"skip": True}}})
    results, _ = run_evaluation(["returns_policy"], config, tmp_path / "run")
    report = results.suites["returns_policy"]
    assert report.status == "skipped" and report.reason == "told to skip"
    assert report.description == "Answers about our 60-day return window."


def test_registered_suites_skip_and_crash_without_stopping_the_run(plugin_suites: dict, tmp_path: Path):
    results, run_dir = run_evaluation(["broken", "needs_endpoint", "loyalty"], EvalConfig(), tmp_path / "run")
    status = {name: r.status for name, r in results.suites.items()}
    assert status == {"broken": "error", "needs_endpoint": "skipped", "loyalty": "ok"}
    assert results.suites["broken"].reason.startswith("RuntimeError: boom")
    assert results.suites["needs_endpoint"].reason == "no endpoint configured"
    assert "Per tier" in (run_dir / "report.html").read_text(encoding="utf-8")


def test_unknown_suites_and_non_suites_are_refused(plugin_suites: dict):
    with pytest.raises(KeyError, match="known: nlu, retrieval"):
        load_suite("nope")
    with pytest.raises(TypeError, match="not an evaluation suite"):
        registry.register_suite(object())  # type: ignore[arg-type]
    with pytest.raises(KeyError, match="unknown evaluation suite"):
        run_evaluation(["nope"], EvalConfig(), Path("unused"))


def test_a_registered_suite_cannot_shadow_a_builtin(plugin_suites: dict):
    registry.register_suite(plugin_suites["loyalty"], name="nlu")
    try:
        assert available_suites()["nlu"].origin == "builtin"
    finally:
        registry.unregister_suite("nlu")
