"""summary.md: a short Markdown summary of a run, to paste into a pull request."""

from __future__ import annotations

from pathlib import Path

from kefu.evals.results_file import RunResults
from kefu.evals.suite import SuiteReport

STATUS = {"ok": "✅ ok", "skipped": "⏭️ skipped", "error": "❌ error"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def headline(report: SuiteReport) -> str:
    if report.status != "ok":
        return _cell(report.reason.splitlines()[0] if report.reason else "")
    picked = [(k, m) for k, m in report.metrics.items() if m.headline] or list(report.metrics.items())[:3]
    return ", ".join(f"{k} **{m.formatted()}**" for k, m in picked)


def render_summary(results: RunResults) -> str:
    info = results.info
    git = info.get("git") or {}
    commit = (
        f"`{git['commit'][:10]}`{' (uncommitted changes)' if git.get('dirty') else ''}" if git else "no git"
    )
    lines = [
        f"### kefu eval — kefu {info.get('kefu', '?')}, {commit}, {info.get('created', '')}",
        "",
        "| suite | status | main numbers | time |",
        "|---|---|---|---:|",
    ]
    for name, report in results.suites.items():
        lines.append(
            f"| {name} | {STATUS.get(report.status, report.status)} | {headline(report)} | {report.seconds:.0f} s |"
        )
    failing = []
    for name, report in results.suites.items():
        failed = [c.id for c in report.cases if not c.passed]
        if failed:
            shown = ", ".join(f"`{c}`" for c in failed[:12]) + (" …" if len(failed) > 12 else "")
            failing.append(f"- **{name}**: {len(failed)} of {len(report.cases)} failed — {shown}")
    if failing:
        lines += ["", "Failing cases (transcripts in report.html):", "", *failing]
    metrics = [
        (f"{name}.{k}", m) for name, report in results.suites.items() for k, m in report.metrics.items()
    ]
    if metrics:
        lines += ["", "<details><summary>All metrics</summary>", "", "| metric | value |", "|---|---:|"]
        lines += [f"| {k} | {m.formatted()} |" for k, m in metrics]
        lines += ["", "</details>"]
    lines += ["", f"Run time {info.get('seconds', 0):.0f} s; `{info.get('command') or 'kefu eval'}`."]
    return "\n".join(lines) + "\n"


def write_summary(results: RunResults, run_dir: Path) -> Path:
    path = run_dir / "summary.md"
    path.write_text(render_summary(results), encoding="utf-8")
    return path
