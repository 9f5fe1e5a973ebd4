"""report.html: one self-contained page per run (no scripts, no network): a summary, then each suite's
metrics, tables, figures (inline SVG) and cases, every transcript one click away in a <details>."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from kefu.evals.results_file import RunResults
from kefu.evals.suite import Case, SuiteReport, Table
from kefu.evals.svg_charts import figure_html

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#111827;margin:0;background:#f9fafb}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:18px;margin:32px 0 8px;border-bottom:1px solid #e5e7eb;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px} .meta{color:#4b5563;font-size:13px}
table{border-collapse:collapse;margin:6px 0 12px;background:#fff;font-size:13px}
th,td{border:1px solid #e5e7eb;padding:4px 8px;text-align:left;vertical-align:top} th{background:#f3f4f6}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.ok{color:#15803d;font-weight:600} .skipped{color:#b45309;font-weight:600} .error{color:#b91c1c;font-weight:600}
.pass{color:#15803d} .fail{color:#b91c1c}
.reason{background:#fffbeb;border:1px solid #fde68a;padding:8px 12px;border-radius:6px;white-space:pre-wrap}
.figures{display:flex;flex-wrap:wrap;gap:16px;margin:8px 0} .figures svg{max-width:100%;height:auto;background:#fff;border:1px solid #e5e7eb;border-radius:6px}
details{margin:2px 0} details>summary{cursor:pointer} details.case{background:#fff;border:1px solid #e5e7eb;border-radius:6px;padding:4px 8px}
.turn{margin:6px 0 10px} .who{font-weight:600;font-size:12px;color:#6b7280}
.customer{background:#eff6ff;border-radius:8px;padding:6px 10px;display:inline-block;max-width:85%}
.bot{background:#f0fdf4;border-radius:8px;padding:6px 10px;display:inline-block;max-width:85%;white-space:pre-wrap}
.tool{font:12px ui-monospace,monospace;color:#374151;margin:2px 0 2px 16px;word-break:break-all}
.tool.err{color:#b91c1c} ul.notes{color:#374151} .scroll{max-height:420px;overflow:auto}
code{font:12px ui-monospace,monospace}
"""


def _cell(value: Any) -> str:
    if value is None:
        return "<td>–</td>"
    if isinstance(value, bool):
        return f"<td>{'yes' if value else 'no'}</td>"
    if isinstance(value, int | float):
        if isinstance(value, int) or float(value).is_integer():
            text = f"{value:.0f}"
        else:
            text = f"{value:.0f}" if abs(value) >= 1000 else f"{value:.4g}"
        return f"<td class='num'>{escape(text)}</td>"
    return f"<td>{escape(str(value))}</td>"


def table_html(table: Table, *, scroll: bool = False) -> str:
    head = "".join(f"<th>{escape(str(c))}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in table.rows)
    inner = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    if scroll or len(table.rows) > 25:
        inner = f"<div class='scroll'>{inner}</div>"
    return f"<h3>{escape(table.title)}</h3>{inner}"


def transcript_html(case: Case) -> str:
    parts = []
    if case.detail:
        parts.append(f"<p class='fail'>{escape(case.detail)}</p>")
    for turn in case.transcript:
        parts.append(
            f"<div class='turn'><div class='who'>customer</div>"
            f"<div class='customer'>{escape(str(turn.get('customer', '')))}</div>"
        )
        for call in turn.get("tool_calls", []):
            err = call.get("error")
            outcome = f"✗ {err}" if err else "✓"
            parts.append(
                f"<div class='tool{' err' if err else ''}'>{escape(call.get('name', ''))}"
                f"({escape(json.dumps(call.get('args', {}), ensure_ascii=False))}) {escape(outcome[:300])}</div>"
            )
        parts.append(
            f"<div class='who'>assistant</div><div class='bot'>{escape(str(turn.get('reply', '')))}</div></div>"
        )
    extra = {
        k: v for k, v in case.data.items() if k in ("writes", "expected_writes", "violations", "stop_reason")
    }
    if extra:
        parts.append(f"<pre><code>{escape(json.dumps(extra, indent=1, ensure_ascii=False))}</code></pre>")
    return "".join(parts)


def cases_html(cases: list[Case]) -> str:
    failed = [c for c in cases if not c.passed]
    passed = [c for c in cases if c.passed]
    out = [f"<h3>Cases: {len(passed)} passed, {len(failed)} failed</h3>"]
    for title, group, is_open in (("Failed", failed, True), ("Passed", passed, False)):
        if not group:
            continue
        items = []
        for c in group:
            mark = "<span class='pass'>✓</span>" if c.passed else "<span class='fail'>✗</span>"
            note = f" — {escape(c.detail[:160])}" if c.detail else ""
            items.append(
                f"<details class='case'><summary>{mark} <code>{escape(c.id)}</code>{note}</summary>"
                f"{transcript_html(c)}</details>"
            )
        out.append(
            f"<details{' open' if is_open else ''}><summary>{title} ({len(group)})</summary>{''.join(items)}</details>"
        )
    return "".join(out)


def suite_html(report: SuiteReport) -> str:
    parts = [
        f"<h2 id='{escape(report.name)}'>{escape(report.name)} "
        f"<span class='{report.status}'>{report.status}</span></h2>"
    ]
    if report.description:
        parts.append(f"<p class='meta'>{escape(report.description)} ({report.seconds:.1f} s)</p>")
    if report.reason:
        parts.append(f"<div class='reason'>{escape(report.reason)}</div>")
    if report.metrics:
        described = any(m.description for m in report.metrics.values())
        rows = "".join(
            f"<tr><td>{escape(k)}</td><td class='num'>{escape(m.formatted())}</td>"
            f"<td>{escape(m.better or '')}</td>"
            + (f"<td>{escape(m.description)}</td>" if described else "")
            + "</tr>"
            for k, m in report.metrics.items()
        )
        parts.append(
            "<table><thead><tr><th>metric</th><th>value</th><th>better</th>"
            + ("<th>what</th>" if described else "")
            + f"</tr></thead><tbody>{rows}</tbody></table>"
        )
    if report.figures:
        parts.append("<div class='figures'>" + "".join(figure_html(f) for f in report.figures) + "</div>")
    parts += [table_html(t) for t in report.tables]
    if report.cases:
        parts.append(cases_html(report.cases))
    if report.notes:
        parts.append("<ul class='notes'>" + "".join(f"<li>{escape(n)}</li>" for n in report.notes) + "</ul>")
    if report.artifacts:
        links = ", ".join(f"<a href='{escape(a)}'>{escape(a)}</a>" for a in report.artifacts)
        parts.append(f"<p class='meta'>Files: {links}</p>")
    return "".join(parts)


def render_html(results: RunResults) -> str:
    info = results.info
    git = info.get("git") or {}
    commit = (
        f"{git['commit'][:10]}{' + uncommitted changes' if git.get('dirty') else ''}"
        if git
        else "not a git checkout"
    )
    versions = ", ".join(f"{k} {v}" for k, v in (info.get("versions") or {}).items())
    rows = []
    for name, r in results.suites.items():
        heads = [f"{k} {m.formatted()}" for k, m in r.metrics.items() if m.headline]
        what = r.reason.splitlines()[0] if r.status != "ok" and r.reason else ", ".join(heads)
        rows.append(
            f"<tr><td><a href='#{escape(name)}'>{escape(name)}</a></td><td class='{r.status}'>{r.status}</td>"
            f"<td>{escape(what)}</td><td class='num'>{r.seconds:.1f} s</td></tr>"
        )
    body = [
        "<h1>kefu evaluation report</h1>",
        f"<p class='meta'>{escape(str(info.get('created', '')))} · kefu {escape(str(info.get('kefu', '?')))} · "
        f"commit {escape(commit)} · {info.get('seconds', 0):.0f} s · repeat {info.get('repeat', 1)}</p>",
        f"<p class='meta'>{escape(versions)}</p>",
        "<table><thead><tr><th>suite</th><th>status</th><th>main numbers / reason</th><th>time</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>",
        *[suite_html(r) for r in results.suites.values()],
        "<h2>Configuration</h2>",
        f"<pre><code>{escape(json.dumps(info.get('config', {}), indent=1, ensure_ascii=False))}</code></pre>",
        f"<p class='meta'>{escape(str(info.get('command', '')))}</p>",
    ]
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>kefu eval {escape(str(info.get('created', '')))}</title><style>{CSS}</style></head>"
        f"<body><main>{''.join(body)}</main></body></html>\n"
    )


def write_html(results: RunResults, run_dir: Path) -> Path:
    path = run_dir / "report.html"
    path.write_text(render_html(results), encoding="utf-8")
    return path
