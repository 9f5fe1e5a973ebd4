"""scenarios: scripted demo-shop conversations (evals/demo_scenarios, or your own), each on a fresh shop.

Metrics: success (pass^1: writes, final database state, required and forbidden strings, hand-off,
no violation), pass^k for k up to `repeat`, action precision and recall of the writes, and policy
violations. Each run is a case with its transcript.

Options (`options: {scenarios: {...}}`): `paths` (files or folders; default the shipped ones),
`ids`, `tags` (run only these), `limit` (the first n).
"""

from __future__ import annotations

import statistics
from collections import defaultdict

from kefu.evals.suite import Case, EvalContext, Figure, Suite, SuiteReport, Table

FLOW_TAGS = (
    "order_status",
    "cancel",
    "return",
    "exchange",
    "modify_items",
    "modify_address",
    "modify_payment",
    "user_address",
    "product_info",
    "account_info",
    "handoff",
    "refusal",
    "mixed",
)


class ScenariosSuite(Suite):
    name = "scenarios"
    description = "Scripted multi-turn conversations on fresh demo shops, scored on the final database state."

    def run(self, ctx: EvalContext) -> SuiteReport:
        from kefu.evals.scenarios import load_scenarios, run_suite, select_scenarios

        report = self.report()
        opts = ctx.options(self.name)
        paths = [ctx.config.resolve(p) for p in opts["paths"]] if opts.get("paths") else None
        scenarios = select_scenarios(
            load_scenarios(paths), ids=opts.get("ids", ()), tags=opts.get("tags", ())
        )
        if opts.get("limit"):
            scenarios = scenarios[: int(opts["limit"])]
        repeat = ctx.repeat
        with ctx.progress("scenarios", len(scenarios) * repeat) as bar:
            suite = run_suite(
                scenarios,
                ctx.make_assistant,
                repeat=repeat,
                template=ctx.shop_template(),
                on_result=lambda _: bar.advance(),
            )
        results = suite.results
        report.metric("success_rate", suite.success_rate, headline=True, description="pass^1 over all runs")
        for k in range(2, repeat + 1):
            report.metric(f"pass^{k}", suite.pass_hat_k(k), description=f"all of {k} runs pass")
        report.metric("action_precision", statistics.fmean(r.action_precision for r in results))
        report.metric("action_recall", statistics.fmean(r.action_recall for r in results))
        report.metric(
            "violations",
            suite.violations,
            better="lower",
            unit="count",
            headline=True,
            description="writes without an explicit yes, on others' data; others' data shown",
        )
        report.metric("scenarios", len(scenarios), better=None, unit="count")
        report.metric(
            "seconds_per_run", statistics.fmean(r.seconds for r in results), better="lower", unit="s"
        )

        by_flow: dict[str, list[bool]] = defaultdict(list)
        for r in results:
            flows = [t for t in r.scenario.tags if t in FLOW_TAGS] or ["other"]
            for flow in flows:
                by_flow[flow].append(r.passed)
        flows = sorted(by_flow, key=lambda f: (FLOW_TAGS + ("other",)).index(f) if f != "other" else 99)
        rates = [sum(by_flow[f]) / len(by_flow[f]) for f in flows]
        report.figures.append(
            Figure("bars", "Success by flow", {"labels": flows, "values": rates, "unit": "%", "x_max": 1.0})
        )
        report.tables.append(
            Table(
                "Success by flow",
                ["flow", "runs", "passed", "success"],
                [
                    [f, len(by_flow[f]), sum(by_flow[f]), f"{r:.0%}"]
                    for f, r in zip(flows, rates, strict=True)
                ],
            )
        )
        if repeat > 1:
            curve = {k: suite.pass_hat_k(k) for k in range(1, repeat + 1)}
            report.figures.append(
                Figure(
                    "lines",
                    "pass^k over repeated runs",
                    {
                        "x": list(curve),
                        "series": {"pass^k": list(curve.values())},
                        "x_label": "k",
                        "y_max": 1.0,
                    },
                )
            )
        for r in results:
            data = r.as_dict()
            transcript = data.pop("transcript")
            detail = "; ".join(r.violations + r.failures)
            case_id = r.scenario.id if repeat == 1 else f"{r.scenario.id} (run {r.trial + 1})"
            report.cases.append(Case(case_id, r.passed, detail, transcript, data))
        where = ", ".join(map(str, paths)) if paths else "evals/demo_scenarios"
        report.notes.append(
            f"{len(scenarios)} scenarios from {where}, {repeat} run(s) each, every run on a fresh copy of the "
            f"demo shop; assistant: {_describe(ctx)}."
        )
        return report


def _describe(ctx: EvalContext) -> str:
    brain = ctx.config.assistant.get("brain") or {}
    if not brain or brain.get("kind", "embedded") == "embedded":
        return "embedded brain"
    return f"{brain.get('kind')} brain {brain.get('model', '')} at {brain.get('base_url', '')}".strip()
