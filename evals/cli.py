"""`kefu eval`: run evaluation suites into a run folder, and compare two runs.

    kefu eval                                  # every applicable suite, embedded defaults
    kefu eval nlu scenarios --repeat 3 --out runs/pr-42
    kefu eval --config evals.yaml
    kefu eval compare runs/main runs/pr-42     # exit 1 when a metric fell past its threshold
    kefu eval --list                           # the suites: built in and installed plugins

Mounted in the main CLI with `app.add_typer(eval_app, name="eval")`; this module imports only
typer and rich, so mounting it costs nothing at start-up.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup


class _RunByDefault(TyperGroup):
    """`kefu eval nlu` means `kefu eval run nlu`: anything that is not a subcommand goes to `run`."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h")):
            args = ["run", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_RunByDefault,
    help="Evaluate the assistant: `kefu eval [SUITE...] [--config C] [--out DIR]`, or `kefu eval compare A B`.",
    add_completion=False,
)
console = Console(stderr=True)
out_console = Console()

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Evals config YAML (suites, assistant, thresholds, options)."),
]


@app.command("run")
def run(
    suites: Annotated[
        list[str] | None, typer.Argument(help="Suites to run (default: every default suite; see --list).")
    ] = None,
    config: ConfigOpt = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Run folder (default kefu-eval-runs/<date>-<time>).")
    ] = None,
    repeat: Annotated[
        int | None, typer.Option("--repeat", "-k", min=1, help="Runs per conversation, for pass^k.")
    ] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Progress bars.")] = True,
    list_suites: Annotated[bool, typer.Option("--list", help="List the available suites and exit.")] = False,
) -> None:
    """Run suites and write results.json, report.html and summary.md into a run folder."""
    from kefu.evals.config import load_eval_config
    from kefu.evals.harness import run_evaluation

    if list_suites:
        _list()
        return
    try:
        cfg = load_eval_config(config)
    except (OSError, ValueError) as e:
        console.print(f"[red]cannot read the evals config:[/] {e}")
        raise typer.Exit(2) from e
    parts = ["kefu eval", *(suites or [])]
    parts += [f"--config {shlex.quote(str(config))}"] if config else []
    parts += [f"--out {shlex.quote(str(out))}"] if out else []
    parts += [f"--repeat {repeat}"] if repeat else []
    try:
        results, run_dir = run_evaluation(
            suites or None,
            cfg,
            out,
            repeat=repeat,
            progress=progress and console.is_terminal,
            console=console,
            command=" ".join(parts),
        )
    except KeyError as e:
        console.print(f"[red]{e.args[0]}[/]")
        raise typer.Exit(2) from e
    _print_summary(results)
    console.print(f"run folder: [bold]{run_dir}[/] (report.html, summary.md, results.json)")
    if any(r.status == "error" for r in results.suites.values()):
        raise typer.Exit(1)


@app.command("compare")
def compare(
    run_a: Annotated[Path, typer.Argument(help="The baseline run folder (or its results.json).")],
    run_b: Annotated[Path, typer.Argument(help="The run to judge.")],
    config: ConfigOpt = None,
    markdown: Annotated[
        Path | None, typer.Option("--markdown", help="Also write the comparison as Markdown here.")
    ] = None,
    all_metrics: Annotated[bool, typer.Option("--all", help="Show unchanged metrics too.")] = False,
) -> None:
    """Print what changed from RUN_A to RUN_B; exit 1 when a metric fell past its threshold.

    Thresholds come from --config's `thresholds`, else from the config recorded in RUN_B.
    """
    from kefu.evals.compare import compare_runs, render_markdown
    from kefu.evals.config import load_eval_config
    from kefu.evals.results_file import load_results

    try:
        a, b = load_results(run_a), load_results(run_b)
        cfg = load_eval_config(config) if config else None
    except (OSError, ValueError) as e:
        console.print(f"[red]{e}[/]")
        raise typer.Exit(2) from e
    comparison = compare_runs(a, b, cfg)
    table = Table(title=f"{run_a} → {run_b}")
    table.add_column("metric", overflow="fold")
    for column in ("A", "B", "change"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("threshold")
    table.add_column("")
    for c in comparison.shown(all_metrics=all_metrics):
        style = (
            "red"
            if c.regressed
            else "green"
            if c.verdict == "better"
            else "yellow"
            if c.verdict == "worse"
            else ""
        )
        table.add_row(
            c.name,
            c.a.formatted() if c.a else "–",
            c.b.formatted() if c.b else "–",
            c.delta_text,
            c.threshold or "",
            f"[{style}]{c.note or c.verdict}[/]" if style else (c.note or c.verdict),
        )
    out_console.print(table)
    for suite, ids in comparison.newly_failing.items():
        out_console.print(f"[red]newly failing in {suite}:[/] {', '.join(ids)}")
    for suite, ids in comparison.newly_passing.items():
        out_console.print(f"[green]newly passing in {suite}:[/] {', '.join(ids)}")
    for line in comparison.status:
        out_console.print(f"status: {line}")
    if markdown is not None:
        markdown.write_text(render_markdown(comparison, str(run_a), str(run_b)), encoding="utf-8")
    if comparison.regressions:
        out_console.print(f"[red bold]{len(comparison.regressions)} metric(s) fell past their threshold[/]")
        raise typer.Exit(comparison.exit_code)
    out_console.print("[green]no metric fell past its threshold[/]")


def _list() -> None:
    from kefu.evals.registry import available_suites

    table = Table(title="evaluation suites")
    for column in ("suite", "from", "default", "what"):
        table.add_column(column)
    for name, entry in available_suites().items():
        try:
            suite = entry.load()
            table.add_row(
                name, entry.origin, "yes" if getattr(suite, "default", True) else "no", suite.description
            )
        except Exception as e:  # noqa: BLE001 - show a broken plugin instead of failing the listing
            table.add_row(name, entry.origin, "?", f"[red]cannot load: {e}[/]")
    out_console.print(table)


def _print_summary(results: Any) -> None:
    table = Table(title="kefu eval")
    for column in ("suite", "status", "main numbers / reason", "time"):
        table.add_column(column)
    colours = {"ok": "green", "skipped": "yellow", "error": "red"}
    for name, r in results.suites.items():
        heads = ", ".join(f"{k} {m.formatted()}" for k, m in r.metrics.items() if m.headline)
        what = r.reason.splitlines()[0] if r.status != "ok" and r.reason else heads
        table.add_row(name, f"[{colours[r.status]}]{r.status}[/]", what, f"{r.seconds:.0f} s")
    out_console.print(table)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
