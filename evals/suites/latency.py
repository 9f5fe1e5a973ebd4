"""latency: time per customer turn of the assistant under test, on a fixed script of demo conversations.

The script is `kefu.bench.SCRIPT` (the same conversations as `kefu bench turns`); one warm-up round is
not counted. Per turn: total wall time, time in the brain (model calls), in tools, and the framework
overhead (total − brain), as p50 / p95 / mean, and a histogram of the totals.

Options (`options: {latency: {...}}`): `repeats` (rounds of the script, default 3).
"""

from __future__ import annotations

import statistics

from kefu.evals.suite import EvalContext, Figure, Suite, SuiteReport, Table


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1), as the benchmarks in docs/ report it."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class LatencySuite(Suite):
    name = "latency"
    description = (
        "Per-turn latency on a fixed script of demo conversations (p50, p95, the framework's share)."
    )

    def run(self, ctx: EvalContext) -> SuiteReport:
        from kefu.bench import SCRIPT

        report = self.report()
        repeats = int(ctx.options(self.name).get("repeats", 3))
        series: dict[str, list[float]] = {"total": [], "brain": [], "tools": [], "overhead": []}
        turns = sum(len(c) for c in SCRIPT)
        with ctx.progress("latency", turns * (repeats + 1)) as bar:
            for r in range(repeats + 1):  # round 0 warms caches and is not counted
                with ctx.assistant() as bot:
                    for n, conversation in enumerate(SCRIPT):
                        for text in conversation:
                            reply = bot.respond(text, session_id=f"latency-{r}-{n}")
                            bar.advance()
                            if r == 0:
                                continue
                            t = reply.timings
                            series["total"].append(t["total"])
                            series["brain"].append(t.get("model", 0.0))
                            series["tools"].append(t.get("tools", 0.0))
                            series["overhead"].append(t["total"] - t.get("model", 0.0))
        rows = []
        for name, values in series.items():
            p50, p95, mean = statistics.median(values), percentile(values, 0.95), statistics.fmean(values)
            rows.append([name, round(p50, 1), round(p95, 1), round(mean, 1)])
            headline = name == "total"
            report.metric(f"{name}_p50_ms", p50, better="lower", unit="ms", headline=headline)
            report.metric(f"{name}_p95_ms", p95, better="lower", unit="ms", headline=headline)
        report.tables.append(Table("Per turn", ["part", "p50 ms", "p95 ms", "mean ms"], rows))
        totals = series["total"]
        report.figures.append(
            Figure(
                "histogram",
                "Time per turn (total)",
                {
                    "values": [round(v, 2) for v in totals],
                    "unit": "ms",
                    "markers": {"p50": statistics.median(totals), "p95": percentile(totals, 0.95)},
                },
            )
        )
        report.notes.append(
            f"{len(totals)} turns: {len(SCRIPT)} conversations × {repeats} rounds after one warm-up round, "
            "fresh demo shop per round, sessions in memory. Brain = time inside the chat model's calls; "
            "overhead = total − brain (what kefu adds around any model)."
        )
        return report
