"""kefu.evals: evaluation suites, the scenario format and runner, τ-bench tasks, reports, compare.

    kefu eval                        # every applicable suite → kefu-eval-runs/<time>/report.html
    kefu eval compare RUN_A RUN_B    # exit 1 when a metric fell past its threshold

Write your own suite by subclassing `Suite` and declaring it under the entry-point group
`kefu.eval_suites` (docs/evaluation.md). Names load lazily: `import kefu.evals` stays cheap, which
matters because `kefu.evals.pytest_plugin` and the CLI import this package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kefu.evals.compare import Comparison, compare_runs
    from kefu.evals.config import EvalConfig, load_eval_config
    from kefu.evals.harness import run_evaluation
    from kefu.evals.pass_k import pass_hat_k
    from kefu.evals.policy_checks import TurnRecord, policy_violations
    from kefu.evals.registry import ENTRY_POINT_GROUP, available_suites, register_suite, unregister_suite
    from kefu.evals.results_file import RunResults, load_results
    from kefu.evals.scenarios import (
        Scenario,
        ScenarioResult,
        ShopTemplate,
        SuiteResult,
        embedded_assistant,
        load_scenarios,
        run_scenario,
        run_suite,
    )
    from kefu.evals.suite import Case, EvalContext, Figure, Metric, Skip, Suite, SuiteReport, Table
    from kefu.evals.tau_bench import TauResult, TauTask, load_tau_tasks, run_tau_task, run_tau_tasks

_LAZY = {
    "Case": "kefu.evals.suite",
    "EvalContext": "kefu.evals.suite",
    "Figure": "kefu.evals.suite",
    "Metric": "kefu.evals.suite",
    "Skip": "kefu.evals.suite",
    "Suite": "kefu.evals.suite",
    "SuiteReport": "kefu.evals.suite",
    "Table": "kefu.evals.suite",
    "EvalConfig": "kefu.evals.config",
    "load_eval_config": "kefu.evals.config",
    "ENTRY_POINT_GROUP": "kefu.evals.registry",
    "available_suites": "kefu.evals.registry",
    "register_suite": "kefu.evals.registry",
    "unregister_suite": "kefu.evals.registry",
    "run_evaluation": "kefu.evals.harness",
    "RunResults": "kefu.evals.results_file",
    "load_results": "kefu.evals.results_file",
    "Comparison": "kefu.evals.compare",
    "compare_runs": "kefu.evals.compare",
    "pass_hat_k": "kefu.evals.pass_k",
    "TurnRecord": "kefu.evals.policy_checks",
    "policy_violations": "kefu.evals.policy_checks",
    "Scenario": "kefu.evals.scenarios",
    "ScenarioResult": "kefu.evals.scenarios",
    "ShopTemplate": "kefu.evals.scenarios",
    "SuiteResult": "kefu.evals.scenarios",
    "embedded_assistant": "kefu.evals.scenarios",
    "load_scenarios": "kefu.evals.scenarios",
    "run_scenario": "kefu.evals.scenarios",
    "run_suite": "kefu.evals.scenarios",
    "TauResult": "kefu.evals.tau_bench",
    "TauTask": "kefu.evals.tau_bench",
    "load_tau_tasks": "kefu.evals.tau_bench",
    "run_tau_task": "kefu.evals.tau_bench",
    "run_tau_tasks": "kefu.evals.tau_bench",
}

__all__ = [
    "Case",
    "Comparison",
    "ENTRY_POINT_GROUP",
    "EvalConfig",
    "EvalContext",
    "Figure",
    "Metric",
    "RunResults",
    "Scenario",
    "ScenarioResult",
    "ShopTemplate",
    "Skip",
    "Suite",
    "SuiteReport",
    "SuiteResult",
    "Table",
    "TauResult",
    "TauTask",
    "TurnRecord",
    "available_suites",
    "compare_runs",
    "embedded_assistant",
    "load_eval_config",
    "load_results",
    "load_scenarios",
    "load_tau_tasks",
    "pass_hat_k",
    "policy_violations",
    "register_suite",
    "run_evaluation",
    "run_scenario",
    "run_suite",
    "run_tau_task",
    "run_tau_tasks",
    "unregister_suite",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kefu.evals' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
