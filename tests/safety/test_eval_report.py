"""`python -m kefu.safety eval --sets ...` runs and reports only the parts asked for."""

from __future__ import annotations

import pytest

from kefu.safety.cli import _parser
from kefu.safety.training.evaluate import evaluate, render

CARD = {
    "heads": {
        name: {
            "threshold": 0.5,
            "positives": 10,
            "negatives": 90,
            "oof_recall": 0.9,
            "oof_false_positive_rate": 0.01,
        }
        for name in ("jailbreak", "harmful", "injection")
    }
}


def test_a_partial_report_has_only_the_sections_that_ran():
    report = render(
        {"bipia": {"cases": 300, "asr": 0.04, "clean_emails": 50, "clean_altered": 0.02}}, CARD, 60.0
    )
    assert "BIPIA EmailQA test" in report and "4.0% | ≤ 5.0% ✅" in report
    assert "2.0% of 50 had a sentence neutralised" in report
    assert "False refusals" not in report and "Added latency" not in report
    assert "Reply checks" not in report


def test_unknown_sets_are_rejected_before_any_work():
    with pytest.raises(ValueError, match="unknown sets"):
        evaluate(sets=["attacks", "xstset"])


def test_the_cli_takes_a_comma_separated_list():
    args = _parser().parse_args(["eval", "--sets", "attacks,bipia"])
    assert args.sets == "attacks,bipia"
