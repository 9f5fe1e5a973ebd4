import json
from pathlib import Path

from kefu.recsys import Recommender
from kefu.recsys.benchmark import QualityRow, Report, render
from kefu.recsys.cli import main
from kefu.recsys.metrics import RankingMetrics


def _write_events(path: Path, events) -> None:  # type: ignore[no-untyped-def]
    with open(path, "w") as fh:
        for event in events:
            fh.write(json.dumps(event.to_row()) + "\n")


def test_fit_and_tune_commands(tmp_path: Path, make_events, make_config, capsys) -> None:  # type: ignore[no-untyped-def]
    events_file = tmp_path / "events.jsonl"
    _write_events(events_file, make_events(n_users=45))
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(make_config().to_dict()))
    assert (
        main(
            ["fit", "--events", str(events_file), "--config", str(config_file), "--out", str(tmp_path / "m")]
        )
        == 0
    )
    assert len(Recommender.load(tmp_path / "m").users) == 45
    assert (
        main(["tune", "--events", str(events_file), "--passes", "0", "--out", str(tmp_path / "tuned.json")])
        == 0
    )
    assert "als" in json.loads((tmp_path / "tuned.json").read_text())
    assert "validation" in capsys.readouterr().out


def test_eval_without_datasets_fails_clearly(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["eval", "--datasets", str(tmp_path / "missing"), "--out", str(tmp_path / "r.md")]) == 2
    assert "datasets not found" in capsys.readouterr().err


def test_report_renders() -> None:
    report = Report(
        rows=[QualityRow("D", "all", "m", RankingMetrics(0.1, 0.2, 0.3, 0.4, 0.5, 7), 0.25, 0.2)],
        speed={
            "fit_raw_s": 1.0,
            "fit_kefu_s": 1.05,
            "fit_ratio": 1.05,
            "fit_kefu_from_events_s": 1.2,
            "recommend_p50_ms_kefu": 0.4,
            "recommend_p50_ms_kefu_no_explain": 0.2,
            "recommend_p50_ms_raw": 0.1,
            "update_p50_ms_kefu": 0.3,
            "update_p50_ms_raw": 0.2,
        },
    )
    text = render(report, "python -m kefu.recsys eval")
    assert "**0.300**" in text and "1.05 (target ≤ 1.10 ✅)" in text and "non" in text.lower()
