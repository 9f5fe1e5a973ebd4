"""The run folder: results.json (data), report.html (figures, transcripts one click away), summary.md."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

from kefu.evals.html_report import render_html
from kefu.evals.markdown_summary import render_summary
from kefu.evals.results_file import RunResults, load_results
from kefu.evals.suite import Case, Figure, SuiteReport, Table
from kefu.evals.svg_charts import bars, heatmap, histogram, lines


class _Tags(HTMLParser):
    """Counts tags and checks that every opened element is closed (a well-formed page opens)."""

    VOID = {"meta", "br", "img", "input", "link", "hr", "rect", "line", "circle", "polyline", "path"}

    def __init__(self) -> None:
        super().__init__()
        self.counts: dict[str, int] = {}
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.counts[tag] = self.counts.get(tag, 0) + 1
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.counts[tag] = self.counts.get(tag, 0) + 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        assert self.stack and self.stack[-1] == tag, (
            f"</{tag}> closes <{self.stack[-1] if self.stack else None}>"
        )
        self.stack.pop()


def parse(html: str) -> _Tags:
    tags = _Tags()
    tags.feed(html)
    tags.close()
    assert tags.stack == [], f"unclosed: {tags.stack}"
    return tags


def test_the_run_folder_of_a_real_run(real_run: Path):
    assert {p.name for p in real_run.iterdir()} >= {"results.json", "report.html", "summary.md"}
    data = json.loads((real_run / "results.json").read_text(encoding="utf-8"))
    assert data["format"] == "kefu-eval/1" and data["kefu"]
    assert "python" in data["versions"] and "langchain" in data["versions"]
    assert data["git"] is None or len(data["git"]["commit"]) == 40
    assert data["config"]["options"]["latency"] == {"repeats": 1}
    assert data["metrics"]["scenarios.success_rate"] == 1.0
    assert "simulated customer" in data["suites"]["tau_bench"]["reason"]
    transcript = data["suites"]["scenarios"]["cases"][0]["transcript"]
    assert transcript[0]["customer"] and transcript[0]["reply"]


def test_the_html_report_opens_and_shows_every_figure(real_run: Path):
    html = (real_run / "report.html").read_text(encoding="utf-8")
    tags = parse(html)
    assert tags.counts["svg"] >= 4  # confusion matrix, precision@k, success by flow, latency histogram
    for title in ("confusion matrix", "precision@k", "Success by flow", "Time per turn"):
        assert title in html, title
    assert tags.counts["details"] >= 2  # every transcript is one click away
    assert "cancel_terse_typo" in html and "ava.kovacs4827@example.com" in html
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")


def test_summary_md_is_short_and_says_why_suites_were_skipped(real_run: Path):
    text = (real_run / "summary.md").read_text(encoding="utf-8")
    assert "| scenarios | ✅ ok |" in text and "success_rate **1.000**" in text
    assert "| tau_bench | ⏭️ skipped |" in text and "simulated customer" in text
    assert len(text.splitlines()) < 60


def test_results_json_round_trips(real_run: Path):
    loaded = load_results(real_run)
    again = RunResults(loaded.suites, loaded.info)
    assert json.loads(json.dumps(again.as_dict())) == json.loads((real_run / "results.json").read_text())


def test_a_report_escapes_what_customers_typed():
    report = SuiteReport(name="x", cases=[Case("<b>id</b>", False, "<script>alert(1)</script>",
                                               [{"customer": "<img src=x>", "reply": "a & b"}])])  # fmt: skip
    report.tables.append(Table("t", ["<th>"], [["<td>"]]))
    html = render_html(RunResults({"x": report}, {"created": "now"}))
    parse(html)
    assert "<script>" not in html and "<img src=x>" not in html and "&lt;img src=x&gt;" in html


def test_each_chart_kind_is_valid_svg():
    charts = [
        heatmap(["a", "b"], [[5, 1], [0, 3]], title="cm"),
        histogram([1.0, 2.0, 2.5, 9.0], title="h", unit="ms", markers={"p50": 2.2}),
        histogram([], title="empty"),
        lines([1, 2, 3], {"kefu": [0.3, 0.2, 0.1], "pop": [0.1, None, 0.05]}, title="l"),
        bars(["cancel", "return"], [1.0, 0.5], title="b", unit="%"),
    ]
    for svg in charts:
        assert parse(svg).counts["svg"] == 1


def test_summary_lists_failing_cases_and_errors():
    ok = SuiteReport(name="s", cases=[Case("a", True), Case("b", False)])
    ok.metric("success_rate", 0.5, headline=True)
    ok.figures.append(Figure("bars", "x", {"labels": ["a"], "values": [1.0]}))
    broken = SuiteReport(name="t", status="error", reason="RuntimeError: boom\ntraceback")
    text = render_summary(RunResults({"s": ok, "t": broken}, {"kefu": "1"}))
    assert "1 of 2 failed — `b`" in text and "| t | ❌ error | RuntimeError: boom |" in text
