"""The worked plugin example in docs/evaluation.md runs as written (so the docs cannot rot)."""

from __future__ import annotations

import re
import types
from pathlib import Path

from kefu.evals import EvalConfig, register_suite, run_evaluation, unregister_suite

DOC = Path(__file__).resolve().parents[2] / "docs" / "evaluation.md"


def _example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    return next(b for b in blocks if b.startswith("# acme_kefu/evals.py"))


def test_the_worked_suite_example_runs(tmp_path: Path):
    module = types.ModuleType("acme_kefu_evals")
    exec(compile(_example(), str(DOC), "exec"), module.__dict__)  # noqa: S102 - our own docs
    register_suite(module.LoyaltySuite)
    try:
        results, run_dir = run_evaluation(["loyalty"], EvalConfig(), tmp_path / "run")
        report = results.suites["loyalty"]
        assert report.status == "ok", report.reason
        assert report.metrics["accuracy"].value == 1.0, [c.transcript for c in report.cases]
        assert len(report.cases) == 2 and report.cases[0].transcript
        skipped, _ = run_evaluation(
            ["loyalty"],
            EvalConfig.model_validate({"options": {"loyalty": {"disabled": True}}}),
            tmp_path / "r2",
        )
        assert skipped.suites["loyalty"].reason == "disabled in the evals config"
    finally:
        unregister_suite("loyalty")
