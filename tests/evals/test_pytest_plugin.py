"""The pytest plugin: a business team's tests assert on scenario suites with the `kefu_scenarios` fixture."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

from kefu.evals.pytest_plugin import ScenarioRunner
from kefu.evals.scenarios import ShopTemplate, embedded_assistant

TEAM_TEST = """
import pytest


def test_our_cancellations(kefu_scenarios):
    result = kefu_scenarios.run(ids=["cancel_terse_typo"])
    assert result.violations == 0
    assert result.success_rate >= 0.9, result.explain_failures()


def test_a_broken_expectation_explains_itself(kefu_scenarios, tmp_path):
    (tmp_path / "mine.yaml").write_text(
        "scenarios:\\n  - id: wrong\\n    turns: [hi]\\n    expect: {handoff: true}\\n", encoding="utf-8"
    )
    result = kefu_scenarios.run(tmp_path)
    assert result.success_rate == 0.0
    assert "handoff False != expected True" in result.explain_failures()
"""


def _plugin_installed() -> bool:
    return any(
        ep.value == "kefu.evals.pytest_plugin" for ep in importlib.metadata.entry_points(group="pytest11")
    )


def test_a_teams_test_file_uses_the_fixture(tmp_path: Path):
    (tmp_path / "test_team.py").write_text(TEAM_TEST, encoding="utf-8")
    load = [] if _plugin_installed() else ["-p", "kefu.evals.pytest_plugin"]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *load, "test_team.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout


def test_the_runner_behind_the_fixture(shop_template: ShopTemplate):
    runner = ScenarioRunner(embedded_assistant, shop_template, repeat=2)
    result = runner.run(ids=["status_tracking_number_no_hash"])
    assert len(result.results) == 2 and result.pass_hat_k(2) == 1.0, result.explain_failures()
    with pytest.raises(ValueError, match="no scenario found"):
        runner.run(tags=["no-such-tag"])
