"""retrieval: the knowledge base's search, through `kefu.evals.retrieval` (maintained with the knowledge base).

This suite only wraps that evaluation: it runs it, keeps its Markdown report in the run folder
(`retrieval.md`) and lifts the numbers of the library's default search mode into metrics. It says
it is skipped, and why, when that package (or the knowledge base under it) cannot be imported.

Options (`options: {retrieval: {...}}`): `bitext` (also the Bitext customer-support FAQ from
../shared/datasets, default false: it embeds about 6,000 records, some ten CPU-minutes on two cores),
`latency_records` (size of the latency index, default 2000), `cache` (keep the indexes in
`$KEFU_HOME/eval-cache/retrieval` so that reruns skip embedding unchanged files, default true).
"""

from __future__ import annotations

import math
import shlex
from typing import Any

from kefu.evals.suite import EvalContext, Skip, Suite, SuiteReport, Table


class RetrievalSuite(Suite):
    name = "retrieval"
    description = "Knowledge-base search: recall@k and MRR on labelled questions, query latency."

    def run(self, ctx: EvalContext) -> SuiteReport:
        try:
            from kefu.evals import retrieval
            from kefu.evals.retrieval.report import render
        except Exception as e:  # noqa: BLE001 - any import failure means "not available here"
            raise Skip(f"kefu.evals.retrieval is not importable here ({type(e).__name__}: {e})") from e

        from kefu.config import default_data_dir

        report = self.report()
        opts = ctx.options(self.name)
        latency_records = int(opts.get("latency_records", 2000))
        datasets = ctx.datasets_dir if opts.get("bitext", False) else None
        work_dir = default_data_dir() / "eval-cache" / "retrieval" if opts.get("cache", True) else None
        if work_dir is not None:
            work_dir.mkdir(parents=True, exist_ok=True)
        results = retrieval.run(datasets, latency_records=latency_records, work_dir=work_dir, log=ctx.log)
        command = f"python -m kefu.evals.retrieval --out FILE --latency-records {latency_records}"
        if datasets is not None:
            command += f" --datasets {shlex.quote(str(datasets))}"
        (ctx.run_dir / "retrieval.md").write_text(render(results, command), encoding="utf-8")
        report.artifacts.append("retrieval.md")
        try:
            _lift(results, report)
        except (AttributeError, KeyError, TypeError) as e:
            report.notes.append(
                f"the retrieval results changed shape ({type(e).__name__}: {e}); see retrieval.md for the numbers"
            )
        notes = list(getattr(results, "notes", []))
        if datasets is None:
            notes = [n for n in notes if not n.startswith("Bitext")]
            notes.append("Bitext FAQ left out (set options.retrieval.bitext: true; about ten CPU-minutes).")
        report.notes += notes
        return report


def _slug(label: str) -> str:
    return "_".join("".join(c if c.isalnum() else " " for c in label.lower()).split())


def _lift(results: Any, report: SuiteReport) -> None:
    """Metrics of the default mode for each question set; latency of each mode."""
    mode = results.settings.mode
    rows = []
    for label, by_mode in results.ranking.items():
        for m_name, m in by_mode.items():
            rows.append([label, m_name, m.queries, *(_r(m.recall[k]) for k in (1, 3, 5)), _r(m.mrr)])
        m = by_mode[mode]
        key = _slug(label)
        headline = "held-out" in label.lower() and "demo" in label.lower()
        for k in (1, 5):
            if not math.isnan(m.recall[k]):
                report.metric(f"{key}_recall@{k}", m.recall[k], headline=headline and k == 1)
        if not math.isnan(m.mrr):
            report.metric(f"{key}_mrr", m.mrr)
    report.tables.append(
        Table(
            "Ranking quality (no threshold)", ["set", "mode", "questions", "R@1", "R@3", "R@5", "MRR"], rows
        )
    )
    latency = []
    for row in results.latency:
        latency.append([row.mode, round(row.p50_ms, 2), round(row.p95_ms, 2), row.queries])
        if row.mode == mode:
            report.metric("query_p50_ms", row.p50_ms, better="lower", unit="ms")
            report.metric("query_p95_ms", row.p95_ms, better="lower", unit="ms")
    if latency:
        report.tables.append(
            Table(
                f"Query latency ({results.latency_records} records)",
                ["mode", "p50 ms", "p95 ms", "queries"],
                latency,
            )
        )
    report.notes.append(f"Default search mode: {mode}; the whole report is in retrieval.md.")


def _r(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 3)
