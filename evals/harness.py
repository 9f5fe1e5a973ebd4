"""Run evaluation suites and write a run folder: results.json, report.html and summary.md.

One suite failing or not applying never stops the others: a `Skip` is recorded with its reason, an
exception as an error with the end of its traceback.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
import traceback
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from kefu.evals.config import EvalConfig
from kefu.evals.registry import available_suites
from kefu.evals.results_file import RunResults, environment, write_results
from kefu.evals.suite import EvalContext, ProgressTask, Skip, SuiteReport, default_datasets_dir

log = logging.getLogger("kefu.evals")


def default_run_dir() -> Path:
    """`kefu-eval-runs/<date>-<time>` in the working directory."""
    return Path("kefu-eval-runs") / dt.datetime.now().strftime("%Y%m%d-%H%M%S")


def default_suites(config: EvalConfig) -> list[str]:
    """The config's `suites`, else every available suite marked `default`."""
    if config.suites:
        return list(config.suites)
    names = []
    for name, entry in available_suites().items():
        try:
            if getattr(entry.load(), "default", True):
                names.append(name)
        except Exception:  # noqa: BLE001 - a broken plugin is reported when it runs, not here
            names.append(name)
    return names


def run_evaluation(
    suites: Sequence[str] | None = None,
    config: EvalConfig | None = None,
    out_dir: Path | None = None,
    *,
    repeat: int | None = None,
    progress: bool = False,
    console: Any = None,
    command: str = "",
) -> tuple[RunResults, Path]:
    """Run `suites` (default: `default_suites`) and write the run folder; returns the results and the folder."""
    config = config or EvalConfig()
    names = list(suites) if suites else default_suites(config)
    known = available_suites()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise KeyError(f"unknown evaluation suite(s) {', '.join(unknown)}; known: {', '.join(known)}")
    run_dir = out_dir or default_run_dir()
    run_dir.mkdir(parents=True, exist_ok=True)
    datasets = config.datasets if config.datasets is not None else default_datasets_dir()
    if datasets is not None and not datasets.is_dir():
        datasets = None
    started = time.perf_counter()
    created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    results = RunResults()
    with _progress(progress, console) as (factory, say):
        ctx = EvalContext(
            config=config,
            run_dir=run_dir,
            datasets_dir=datasets,
            repeat=repeat or config.repeat,
            progress=factory,
            log=say,
        )
        try:
            with factory("suites", len(names)) as overall:
                for name in names:
                    report = _run_one(name, known[name].load, ctx)
                    results.suites[name] = report
                    say(_line(report))
                    overall.advance()
        finally:
            ctx.close()
    results.info = {
        "created": created,
        "seconds": round(time.perf_counter() - started, 2),
        **environment(),
        "command": command,
        "run_dir": str(run_dir),
        "datasets": str(datasets) if datasets else None,
        "repeat": ctx.repeat,
        "config": config.model_dump(mode="json"),
    }
    write_results(results, run_dir)
    from kefu.evals.html_report import write_html
    from kefu.evals.markdown_summary import write_summary

    write_html(results, run_dir)
    write_summary(results, run_dir)
    return results, run_dir


def _run_one(name: str, load: Any, ctx: EvalContext) -> SuiteReport:
    started = time.perf_counter()
    description = ""
    try:
        suite = load()
        description = getattr(suite, "description", "")
        report = suite.run(ctx)
        if not isinstance(report, SuiteReport):
            raise TypeError(f"suite {name} returned {type(report).__name__}, not a SuiteReport")
    except Skip as e:
        report = SuiteReport(name=name, status="skipped", reason=str(e), description=description)
    except Exception as e:  # noqa: BLE001 - one broken suite must not lose the others' results
        log.exception("evaluation suite %s failed", name)
        tail = "".join(traceback.format_exception(e)[-3:]).strip()
        report = SuiteReport(name=name, status="error", reason=f"{type(e).__name__}: {e}\n{tail}")
        report.description = description
    report.name = name
    report.description = report.description or description
    report.seconds = round(time.perf_counter() - started, 2)
    return report


def _line(report: SuiteReport) -> str:
    if report.status == "skipped":
        return f"[yellow]{report.name}: skipped[/] — {report.reason}"
    if report.status == "error":
        return f"[red]{report.name}: error[/] — {report.reason.splitlines()[0]}"
    heads = [f"{k} {m.formatted()}" for k, m in report.metrics.items() if m.headline]
    return f"[green]{report.name}[/] ({report.seconds:.0f} s) " + ", ".join(heads)


@contextlib.contextmanager
def _progress(enabled: bool, console: Any) -> Iterator[tuple[Any, Any]]:
    """(progress factory, log function): rich bars and lines when enabled, silence otherwise."""
    if not enabled:

        @contextlib.contextmanager
        def quiet(description: str, total: int | None) -> Iterator[ProgressTask]:
            yield _Quiet()

        yield quiet, lambda message: log.info("%s", message)
        return

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bars = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )

    @contextlib.contextmanager
    def bar(description: str, total: int | None) -> Iterator[ProgressTask]:
        task = bars.add_task(description, total=total)
        try:
            yield _RichTask(bars, task)
        finally:
            bars.update(task, visible=False)

    with bars:
        yield bar, bars.console.print


class _Quiet:
    def advance(self, n: int = 1) -> None:
        return None


class _RichTask:
    def __init__(self, bars: Any, task: Any) -> None:
        self._bars, self._task = bars, task

    def advance(self, n: int = 1) -> None:
        self._bars.advance(self._task, n)
