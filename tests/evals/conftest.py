"""Fixtures for the evaluation-harness tests: scripted assistants, small suites, and the shared data."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kefu import Assistant, Config, ScriptedChatModel
from kefu.evals.registry import register_suite, unregister_suite
from kefu.evals.suite import Case, EvalContext, Figure, Skip, Suite, SuiteReport

DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"


@pytest.fixture
def dataset() -> Callable[[str], Path]:
    """`dataset("tau_bench_retail")`: the shared data set's folder, or skip saying it is absent."""

    def find(name: str) -> Path:
        path = DATASETS / name
        if not path.exists():
            pytest.skip(f"needs ../shared/datasets/{name} (present in CI, absent in a user's clone)")
        return path

    return find


@pytest.fixture
def scripted() -> Callable[[list[Any]], Callable[[str, Path], Assistant]]:
    """`scripted(script)`: a `make_assistant(shop_url, data_dir)` whose brain plays a fresh copy of `script`."""

    def factory(script: list[Any], *, safety: bool = True) -> Callable[[str, Path], Assistant]:
        def make(shop_url: str, data_dir: Path) -> Assistant:
            config = Config(
                data_dir=data_dir,
                shop={"database_url": shop_url},
                sessions={"url": "memory://"},
                safety={"enabled": safety},
            )
            return Assistant(config, chat_model=ScriptedChatModel(list(script)))

        return make

    return factory


class LoyaltySuite(Suite):
    """What a business team's plugin suite looks like (also used by docs/evaluation.md)."""

    name = "loyalty"
    description = "Points balance answers."

    def run(self, ctx: EvalContext) -> SuiteReport:
        report = self.report()
        threshold = ctx.options(self.name).get("points", 100)
        report.metric("accuracy", 0.75 if threshold == 100 else 0.5, headline=True)
        report.metric("latency_ms", 12.0, better="lower", unit="ms")
        report.figures.append(
            Figure("bars", "Per tier", {"labels": ["gold", "silver"], "values": [0.9, 0.6]})
        )
        report.cases.append(Case("gold-balance", True, transcript=[{"customer": "points?", "reply": "120"}]))
        report.cases.append(Case("silver-balance", False, "said 12, expected 120"))
        return report


class NeedsEndpointSuite(Suite):
    name = "needs_endpoint"

    def run(self, ctx: EvalContext) -> SuiteReport:
        raise Skip("no endpoint configured")


class BrokenSuite(Suite):
    name = "broken"

    def run(self, ctx: EvalContext) -> SuiteReport:
        raise RuntimeError("boom")


@pytest.fixture
def plugin_suites() -> Iterator[dict[str, type[Suite]]]:
    """Three suites registered in code: one that works, one that skips, one that crashes."""
    suites: dict[str, type[Suite]] = {
        "loyalty": LoyaltySuite,
        "needs_endpoint": NeedsEndpointSuite,
        "broken": BrokenSuite,
    }
    for suite in suites.values():
        register_suite(suite)
    yield suites
    for name in ("loyalty", "needs_endpoint", "broken"):
        unregister_suite(name)


@pytest.fixture(scope="session")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One harness run of the built-in suites, kept small: two scenarios, one latency round, shop NLU only."""
    from kefu.evals.config import EvalConfig
    from kefu.evals.harness import run_evaluation

    config = EvalConfig.model_validate(
        {
            "options": {
                "scenarios": {"ids": ["cancel_terse_typo", "refuse_cancel_partners_order"]},
                "latency": {"repeats": 1},
                "nlu": {"public": []},
                "recsys": {"datasets": ["demo"]},
                "tau_bench": {"user": {}},
            }
        }
    )
    _, run_dir = run_evaluation(
        ["nlu", "recsys", "scenarios", "latency", "tau_bench"],
        config,
        tmp_path_factory.mktemp("run"),
    )
    return run_dir
