"""Compare two runs: every metric's change, which ones fell past their threshold, and cases that flipped.

A threshold is the largest allowed worsening of a metric from run A (the baseline) to run B, in the
metric's own direction: `0.02` absolute, `"5%"` relative to A. Metrics without a threshold are shown
but never fail; a thresholded metric that A has and B lacks fails (B cannot show it did not regress).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kefu.evals.config import EvalConfig, parse_threshold
from kefu.evals.results_file import RunResults
from kefu.evals.suite import Metric, format_value


@dataclass
class MetricChange:
    name: str
    a: Metric | None
    b: Metric | None
    threshold: str | None = None
    regressed: bool = False
    note: str = ""

    @property
    def delta(self) -> float | None:
        return None if self.a is None or self.b is None else self.b.value - self.a.value

    @property
    def delta_text(self) -> str:
        """ "+0.012", "−3.1 ms", or "" when one side is missing."""
        d = self.delta
        if d is None or self.b is None:
            return ""
        return ("+" if d >= 0 else "−") + format_value(abs(d), self.b.unit)

    @property
    def verdict(self) -> str:
        """better, worse, same, new, missing (from B's point of view)."""
        if self.a is None:
            return "new"
        if self.b is None:
            return "missing"
        d = self.delta or 0.0
        better = self.b.better or self.a.better
        if abs(d) < 1e-12 or better is None:
            return "same" if abs(d) < 1e-12 else "changed"
        return "better" if (d > 0) == (better == "higher") else "worse"


@dataclass
class Comparison:
    changes: list[MetricChange]
    newly_failing: dict[str, list[str]] = field(default_factory=dict)
    """Suite → case ids that passed in A and fail in B."""
    newly_passing: dict[str, list[str]] = field(default_factory=dict)
    status: list[str] = field(default_factory=list)
    """Suites whose status changed (ran in A, skipped in B...)."""

    @property
    def regressions(self) -> list[MetricChange]:
        return [c for c in self.changes if c.regressed]

    def shown(self, *, all_metrics: bool = False) -> list[MetricChange]:
        """Regressions first, then changed metrics; unchanged and plain missing ones only with `all_metrics`
        (a suite missing from B is reported once in `status`)."""
        picked = [
            c for c in self.changes if all_metrics or c.regressed or c.verdict not in ("same", "missing")
        ]
        return sorted(picked, key=lambda c: (not c.regressed, c.name))

    @property
    def exit_code(self) -> int:
        return 1 if self.regressions else 0


def compare_runs(a: RunResults, b: RunResults, config: EvalConfig | None = None) -> Comparison:
    """Changes from `a` to `b`, judged against `config.thresholds` (default: B's recorded config's)."""
    if config is None:
        config = EvalConfig.model_validate({"thresholds": b.info.get("config", {}).get("thresholds", {})})
    metrics_a = {f"{s}.{k}": m for s, r in a.suites.items() for k, m in r.metrics.items()}
    metrics_b = {f"{s}.{k}": m for s, r in b.suites.items() for k, m in r.metrics.items()}
    changes = []
    for name in [*metrics_a, *(n for n in metrics_b if n not in metrics_a)]:
        change = MetricChange(name, metrics_a.get(name), metrics_b.get(name))
        limit = config.threshold_for(name)
        if limit is not None:
            change.threshold = str(limit)
            _judge(change, limit, b)
        changes.append(change)
    result = Comparison(changes)
    for suite in sorted(a.suites.keys() & b.suites.keys()):
        ra, rb = a.suites[suite], b.suites[suite]
        if ra.status != rb.status:
            result.status.append(
                f"{suite}: {ra.status} → {rb.status}"
                + (f" ({rb.reason.splitlines()[0]})" if rb.reason else "")
            )
        before = {c.id: c.passed for c in ra.cases}
        after = {c.id: c.passed for c in rb.cases}
        worse = [i for i in after if before.get(i) is True and not after[i]]
        fixed = [i for i in after if before.get(i) is False and after[i]]
        if worse:
            result.newly_failing[suite] = worse
        if fixed:
            result.newly_passing[suite] = fixed
    for suite in sorted(a.suites.keys() - b.suites.keys()):
        result.status.append(f"{suite}: not in run B")
    return result


def _judge(change: MetricChange, limit: float | str, b: RunResults) -> None:
    amount, relative = parse_threshold(limit, change.name)
    if change.a is None:
        return
    if change.b is None:
        suite = change.name.split(".", 1)[0]
        report = b.suites.get(suite)
        why = (
            f"{report.status}: {report.reason.splitlines()[0]}"
            if report and report.reason
            else "not measured"
        )
        change.regressed, change.note = True, f"missing in B ({why})"
        return
    better = change.a.better
    if better is None:
        return
    worsening = (change.a.value - change.b.value) if better == "higher" else (change.b.value - change.a.value)
    allowed = amount * abs(change.a.value) if relative else amount
    if worsening > allowed + 1e-12:
        change.regressed = True
        change.note = f"worse by {format_value(worsening, change.a.unit)}, allowed {limit}"


def _fmt(m: Metric | None) -> str:
    return "–" if m is None else m.formatted()


def render_markdown(
    comparison: Comparison, name_a: str = "A", name_b: str = "B", *, all_metrics: bool = False
) -> str:
    """The comparison as Markdown (for a pull request): regressions first, then the other changes."""
    lines = []
    regressions = comparison.regressions
    lines.append(
        f"**{len(regressions)} metric(s) fell past their threshold.**"
        if regressions
        else "No metric fell past its threshold."
    )
    lines += ["", f"| metric | {name_a} | {name_b} | change | threshold | |", "|---|---:|---:|---:|---|---|"]
    for c in comparison.shown(all_metrics=all_metrics):
        mark = "❌ " + c.note if c.regressed else c.verdict
        lines.append(
            f"| {c.name} | {_fmt(c.a)} | {_fmt(c.b)} | {c.delta_text} | {c.threshold or ''} | {mark} |"
        )
    for suite, ids in comparison.newly_failing.items():
        lines.append(f"\nNewly failing in {suite}: " + ", ".join(f"`{i}`" for i in ids))
    for suite, ids in comparison.newly_passing.items():
        lines.append(f"\nNewly passing in {suite}: " + ", ".join(f"`{i}`" for i in ids))
    for s in comparison.status:
        lines.append(f"\nStatus: {s}")
    return "\n".join(lines) + "\n"
