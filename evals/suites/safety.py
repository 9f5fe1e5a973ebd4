"""safety: the input, tool-output and reply guards of `kefu.safety`, through its own evaluation.

`python -m kefu.safety eval` (maintained with the guards) scores the shipped `SafetyLayer` on the test
splits of ../shared/datasets/safety_* (attack success of jailbreaks and harmful requests, indirect
injections, false refusals on XSTest and customer queries, toxicity, PII, latency). This suite runs
it, keeps its Markdown report in the run folder (`safety.md`) and says it is skipped, and why, when
the guards, their trained heads or the data are not there.

Options (`options: {safety: {...}}`): `limit` (items per data set, default 100 to keep `kefu eval`
short; null for the full test splits).
"""

from __future__ import annotations

from kefu.evals.suite import EvalContext, Skip, Suite, SuiteReport


class SafetySuite(Suite):
    name = "safety"
    description = "Guards on jailbreak, injection, harmful, toxicity, PII and over-refusal test data."

    def run(self, ctx: EvalContext) -> SuiteReport:
        try:
            from kefu.safety.training.evaluate import evaluate
        except Exception as e:  # noqa: BLE001 - any import failure means "not available here"
            raise Skip(f"kefu.safety has no evaluation to run here ({type(e).__name__}: {e})") from e
        if ctx.datasets_dir is None:
            raise Skip(
                "the safety test sets live in ../shared/datasets/safety_*, and no datasets folder was found"
            )
        opts = ctx.options(self.name)
        limit = opts.get("limit", 100)
        try:
            markdown = evaluate(ctx.datasets_dir, limit=limit, log=ctx.log)
        except FileNotFoundError as e:  # trained heads or a data set missing
            raise Skip(str(e)) from e
        report = self.report()
        (ctx.run_dir / "safety.md").write_text(markdown, encoding="utf-8")
        report.artifacts.append("safety.md")
        report.notes.append(
            f"`python -m kefu.safety eval` with at most {limit} items per data set"
            if limit
            else "`python -m kefu.safety eval` on the full test splits"
        )
        lifted = lift_tables(markdown, report)
        report.notes.append(
            f"The whole report is in safety.md; {lifted} rates lifted from its tables into metrics "
            "(attack success and false refusals per data set, lower is better)."
        )
        return report


_TABLES = {"attack success": "attack_success", "refused or escalated": "false_refusal"}


def lift_tables(markdown: str, report: SuiteReport) -> int:
    """Rates from safety.md's attack and false-refusal tables as metrics; returns how many.

    Reads `| set | n | <rate column> | target |` tables; anything else is left in the Markdown, so a
    change of layout there loses metrics here, never the run.
    """
    kind: str | None = None
    found: dict[str, list[tuple[str, float, bool]]] = {}
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if len(cells) < 3:
            kind = None if not line.startswith("|") else kind
            continue
        if cells[2] in _TABLES:
            kind = _TABLES[cells[2]]
            continue
        if kind is None or not cells[2].endswith("%"):
            continue
        try:
            value = float(cells[2].rstrip("%")) / 100
        except ValueError:
            continue
        has_target = len(cells) > 3 and cells[3] not in ("", "–", "-")
        found.setdefault(kind, []).append((cells[0], value, has_target))
    for kind, rows in found.items():
        for name, value, _ in rows:
            report.metric(f"{kind}.{_slug(name)}", value, better="lower", description=name)
        targeted = [v for _, v, t in rows if t]
        if targeted:
            report.metric(
                f"{kind}_mean",
                sum(targeted) / len(targeted),
                better="lower",
                headline=True,
                description="mean over the data sets that have a target",
            )
    return sum(len(rows) for rows in found.values())


def _slug(text: str) -> str:
    words = "".join(c if c.isalnum() else " " for c in text.lower().split("(")[0]).split()
    return "_".join(words)
