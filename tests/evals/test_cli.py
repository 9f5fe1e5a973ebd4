"""`kefu eval`: the Typer app the facade mounts, with `run` as the default command."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from kefu.evals.cli import app

runner = CliRunner()


def test_suites_named_on_the_command_line_run_into_the_out_folder(plugin_suites: dict, tmp_path: Path):
    out = tmp_path / "run"
    result = runner.invoke(app, ["loyalty", "tau_bench", "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "loyalty" in result.output and "skipped" in result.output
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert list(data["suites"]) == ["loyalty", "tau_bench"]
    assert data["command"] == f"kefu eval loyalty tau_bench --out {out}"


def test_a_crashing_suite_makes_the_run_exit_1(plugin_suites: dict, tmp_path: Path):
    result = runner.invoke(app, ["broken", "loyalty", "-o", str(tmp_path / "r")])
    assert result.exit_code == 1
    assert (tmp_path / "r" / "report.html").is_file()  # the other suites' results are still written


def test_config_options_and_repeat_reach_the_suites(plugin_suites: dict, tmp_path: Path):
    config = tmp_path / "evals.yaml"
    config.write_text("suites: [loyalty]\nrepeat: 2\noptions:\n  loyalty: {points: 50}\n", encoding="utf-8")
    result = runner.invoke(app, ["--config", str(config), "--out", str(tmp_path / "r"), "--repeat", "3"])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "r" / "results.json").read_text(encoding="utf-8"))
    assert data["metrics"]["loyalty.accuracy"] == 0.5 and data["repeat"] == 3


def test_bad_input_exits_2_with_a_message(tmp_path: Path):
    unknown = runner.invoke(app, ["no_such_suite", "--out", str(tmp_path / "r")])
    assert unknown.exit_code == 2 and "unknown evaluation suite" in unknown.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("suites: nlu: [\n", encoding="utf-8")
    assert runner.invoke(app, ["--config", str(bad)]).exit_code == 2


def test_list_shows_builtin_and_plugin_suites(plugin_suites: dict):
    result = runner.invoke(app, ["--list"])
    assert result.exit_code == 0, result.output
    for name in (
        "nlu",
        "retrieval",
        "recsys",
        "generation",
        "safety",
        "scenarios",
        "tau_bench",
        "latency",
        "loyalty",
    ):
        assert name in result.output


def test_the_facade_mounts_it_as_kefu_eval(plugin_suites: dict, tmp_path: Path):
    """What kefu/cli.py does: `app.add_typer(eval_app, name="eval")`."""
    main = typer.Typer(no_args_is_help=True)

    @main.command()
    def chat() -> None:
        """Another command of the main CLI."""

    main.add_typer(app, name="eval")
    out = tmp_path / "run"
    result = runner.invoke(main, ["eval", "loyalty", "--out", str(out)])
    assert result.exit_code == 0, result.output
    compared = runner.invoke(main, ["eval", "compare", str(out), str(out)])
    assert compared.exit_code == 0, compared.output
    helped = runner.invoke(main, ["eval", "--help"])
    assert helped.exit_code == 0 and "compare" in helped.output and "run" in helped.output
