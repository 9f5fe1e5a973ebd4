"""kefu.evals' public names: pinned, every one resolves, and importing the package stays cheap."""

from __future__ import annotations

import subprocess
import sys

import kefu.evals

PUBLIC = {
    "Case", "Comparison", "ENTRY_POINT_GROUP", "EvalConfig", "EvalContext", "Figure", "Metric", "RunResults",
    "Scenario", "ScenarioResult", "ShopTemplate", "Skip", "Suite", "SuiteReport", "SuiteResult", "Table",
    "TauResult", "TauTask", "TurnRecord", "available_suites", "compare_runs", "embedded_assistant",
    "load_eval_config", "load_results", "load_scenarios", "pass_hat_k", "policy_violations", "register_suite",
    "run_evaluation", "run_scenario", "run_suite", "run_tau_task", "run_tau_tasks", "unregister_suite",
    "load_tau_tasks",
}  # fmt: skip


def test_the_public_names_are_pinned_and_resolve():
    assert set(kefu.evals.__all__) == PUBLIC
    for name in PUBLIC:
        assert getattr(kefu.evals, name) is not None, name


def test_the_cli_and_the_pytest_plugin_import_nothing_heavy():
    """The facade imports kefu.evals.cli at start-up, and pytest loads the plugin in every session."""
    code = (
        "import sys, kefu.evals.cli, kefu.evals.pytest_plugin; "
        "heavy = [m for m in ('langchain', 'langgraph', 'sqlalchemy', 'sklearn', 'torch') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
