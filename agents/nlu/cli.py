"""`kefu train intent`, `kefu train sentiment` and `kefu bench nlu-public`, as one argparse program.

python -m kefu.agents.nlu.cli intent --data FILE [--validation FILE] [--out DIR] [--method frozen|finetune|tuned]
    [--mahalanobis]
python -m kefu.agents.nlu.cli sentiment [--data DATASETS] [--out DIR]
python -m kefu.agents.nlu.cli bench [--data DATASETS] [--doc docs/benchmarks_nlu.md] [--clinc-only]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

DOC = Path("docs/benchmarks_nlu.md")


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _score_table(scores: dict[str, Any] | None) -> list[str]:
    """Every candidate abstention score of the CLINC150 rows: val (which decides) beside test."""
    if not scores:
        return []
    lines = [
        "",
        "Abstention scores compared, each thresholded on val + oos_val by the same rule and measured on test in",
        "the same run (Mahalanobis = distance to the nearest intent mean under one shared Ledoit-Wolf-shrunk",
        "covariance, z-scored on val; `top probability + Mahalanobis` replaces the cosine term and is not",
        "offered by `kefu train intent`). Picked by val: the score with the best val in-scope accuracy +",
        "out-of-scope recall among those `kefu train intent` offers by default (top probability, neighbour",
        "score) and with `--mahalanobis` (also neighbour score + Mahalanobis); oos_val has 100 queries, so one",
        "query is 0.01 of val recall. Ceiling: the test out-of-scope recall at 95% test in-scope accuracy with",
        "the threshold set on test itself, the best the score could do (a diagnostic, not a result).",
        "",
        "| model | abstention score | val in-scope | val out-of-scope recall | test in-scope | test out-of-scope "
        "recall | picked by val | ceiling |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for model, rows in scores.items():
        for name, r in rows.items():
            lines.append(
                f"| {model} | {name} | {_pct(r['val_in_scope_accuracy'])} | {r['val_oos_recall']:.2f} | "
                f"{_pct(r['in_scope_accuracy'])} | {r['oos_recall']:.3f} | {', '.join(r['picked_by_val'])} | "
                f"{r['test_recall_ceiling_at_95']:.3f} |"
            )
    return lines


def render_report(report: dict[str, Any], rerun: str) -> str:
    """The benchmark as Markdown (tables with the targets of issue #6 beside the measured numbers)."""
    b, c, s, shop, lat = (report[k] for k in ("banking77", "clinc150", "sentiment", "shop", "latency"))
    lines = [
        "# NLU benchmarks: intents, out-of-scope, sentiment",
        "",
        "Measured by `kefu bench nlu-public` on this repository's CPU machine (2 shared cores). Test splits are the",
        "official ones (BANKING77 test, CLINC150 test + oos_test) or seeded held-out splits; ensemble weights and the",
        "abstention threshold are chosen on validation data only (BANKING77: a seeded 10% of train; CLINC150: its",
        "official val + oos_val). Frozen = the packaged MiniLM's mean-pooled vectors + multinomial logistic",
        "regression (C=20); TF-IDF = the shop brain's word + character n-gram linear SVM.",
        "",
        f"Rerun: `{rerun}` ({report['seconds'] / 60:.1f} minutes here with the vectors cached and the fine-tuned",
        "models already saved; fine-tuning itself took 12 minutes for the one BANKING77 epoch, about 40 minutes",
        "for the 10-shot run and about 50 minutes for the contrastive 10-shot run on the 2 shared cores, and the",
        "layer 1–6 CLINC150 vectors about 10 minutes; no GPU here).",
        "",
        "## BANKING77 (77 intents, 3,080 test messages)",
        "",
        "| training set | model | accuracy | target |",
        "|---|---|---|---|",
    ]
    for split, target in (("full", "≥ 93.7% (BERT-base 93.66%)"), ("10-shot", "≥ 87% (published 85–90%)")):
        for name, acc in b[split].items():
            lines.append(f"| {split} | {name} | {100 * acc:.2f}% | {target} |")  # 86.98% is not 87.0%
    if any("SetFit" in name for name in b["10-shot"]):
        best10 = max(b["10-shot"].values())
        lines += [
            "",
            "The SetFit rows (`agents/nlu/contrastive.py`: in-batch-negative pairs of same-intent phrasings, 5 pairs",
            "per example, batch 32, lr 2e-5, one pass, SetFit's defaults; then logistic regression on the tuned",
            "vectors) were all defined before their numbers existed; none was picked on validation data (10-shot has",
            "none), and no weight was tuned. The best 10-shot row is "
            f"{100 * best10:.2f}%, {100 * (best10 - 0.87):+.2f} points from the 87% target "
            f"({round((best10 - 0.87) * 3080):+d} of 3,080 messages). The contrastive run took 50 minutes on the",
            "2 shared cores.",
        ]
    lines += [
        "",
        "## CLINC150 (150 intents; 4,500 in-scope and 1,000 out-of-scope test queries)",
        "",
        "In-scope accuracy counts an abstention as wrong. Target: out-of-scope recall ≥ 0.85 at in-scope ≥ 0.95.",
        "Out-of-scope row = an extra head class trained on CLINC150's 100 oos_train queries; neighbour score = top",
        "probability + mean cosine similarity to the 5 nearest training queries, both z-scored on val",
        "(`agents/nlu/oos.py`); which score a row abstains on was chosen on val + oos_val. Layer 1–6 vectors =",
        "MiniLM's mean-pooled hidden states of layers 1–6, concatenated (one forward, no training; the layer set",
        "with the best val accuracy among 5–6, 4–6, 3–6 and 1–6). The exploratory runs behind these later rows",
        "printed test numbers too; every choice in a row was still made by its val rule. MiniLM fine-tuned on",
        "CLINC150 train = `kefu train intent --method tuned`: the `finetune` recipe with val for early stopping",
        "(30 minutes on the 2 shared cores), then the same head and scores on the tuned vectors. CLINC150 alone",
        "reruns with `kefu bench nlu-public --clinc-only --clinc-tuned DIR` (3.5 minutes here with the vectors",
        "cached and the tuned model saved in DIR).",
        "",
        "| model | in-scope accuracy (no abstention) | threshold (from val) | in-scope accuracy | out-of-scope recall |",
        "|---|---|---|---|---|",
    ]
    for name, r in c.items():
        if name == "scores":
            continue
        lines.append(
            f"| {name} | {_pct(r['in_scope_accuracy_no_abstention'])} | {r['threshold_from_val']:.3f} | "
            f"{_pct(r['in_scope_accuracy'])} | {r['oos_recall']:.3f} |"
        )
    lines += _score_table(c.get("scores"))
    upset = s["kefu_heldout_upset_f1"]
    lines += [
        "",
        "## Sentiment (the shipped head, `agents/nlu/models/`)",
        "",
        "| evaluation set | rows | macro-F1 |",
        "|---|---|---|",
        f"| UCI labelled sentences, seeded 20% held out (positive vs negative) | {s['uci_test_rows']} | "
        f"{s['uci_test_macro_f1']:.3f} |",
        f"| Airline tweets, all, 3 classes (evaluation only: CC BY-NC-SA) | {s['airline_rows']} | "
        f"{s['airline_macro_f1']:.3f} |",
        f"| kefu's held-out customer-service messages, 3 classes | {s['kefu_heldout_rows']} | "
        f"{s['kefu_heldout_macro_f1']:.3f} |",
        "",
        "Is the customer upset (negative vs the rest), F1 on kefu's held-out customer-service messages: model "
        f"{upset['model']:.3f}, the old lexicon {upset['lexicon']:.3f}, model or lexicon "
        f"{upset['model_or_lexicon']:.3f}.",
        "",
        f"## The shop's intents (held-out file, {shop['held_out_rows']} utterances)",
        "",
        "| model | accuracy |",
        "|---|---|",
    ]
    lines += [f"| {name} | {_pct(v)} |" for name, v in shop.items() if name != "held_out_rows"]
    lines += [
        "",
        "## Speed",
        "",
        f"One message, intent + sentiment (one MiniLM forward shared by both heads), {lat['messages']} messages, "
        f"bfloat16 autocast {'on' if lat['bfloat16'] else 'off'}: p50 {lat['p50_ms']:.1f} ms, p95 "
        f"{lat['p95_ms']:.1f} ms (target p50 < 15 ms). Measured by `--latency-only` at normal priority (under "
        "`nice` beside other jobs the same loop reads 10–30 times slower)"
        + (
            f"; 1-minute load average {lat['load_average'][0]:.1f} before, {lat['load_average'][1]:.1f} after."
            if "load_average" in lat
            else "; the machine was shared meanwhile."
        ),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kefu-nlu", description=(__doc__ or "").split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    i = sub.add_parser("intent", help="train an intent model from a labelled CSV/JSON/YAML file")
    i.add_argument(
        "--data", type=Path, required=True, help="labelled file: text,label (oos/other = no intent)"
    )
    i.add_argument("--out", type=Path, default=Path("intent-model"))
    i.add_argument("--method", choices=["frozen", "finetune", "tuned"], default="frozen")
    i.add_argument("--val-fraction", type=float, default=0.15)
    i.add_argument(
        "--validation",
        type=Path,
        default=None,
        help="a separate validation file (instead of --val-fraction); its oos rows set the threshold and "
        "the training file's oos rows then train an out-of-scope class",
    )
    i.add_argument(
        "--mahalanobis",
        action="store_true",
        help="also try neighbour score + Mahalanobis distance for abstaining (kept only if validation "
        "out-of-scope examples show it abstains better; off by default, see docs/nlu.md)",
    )
    i.add_argument("--epochs", type=int, default=6)
    i.add_argument("--lr", type=float, default=1e-4)
    i.add_argument("--batch-size", type=int, default=32)
    i.add_argument("--seed", type=int, default=0)
    i.add_argument("--device", default=None, help="cuda or cpu (default: CUDA when present)")
    s = sub.add_parser("sentiment", help="refit the shipped sentiment head")
    s.add_argument("--data", type=Path, default=None, help="the shared datasets folder")
    s.add_argument("--out", type=Path, default=None, help="default: the package's agents/nlu/models")
    b = sub.add_parser("bench", help="public benchmarks → docs/benchmarks_nlu.md")
    b.add_argument("--data", type=Path, default=None, help="the shared datasets folder")
    b.add_argument("--doc", type=Path, default=DOC)
    b.add_argument("--finetune-full", type=Path, default=None, help="fine-tune on BANKING77 (or reuse) here")
    b.add_argument("--finetune-10shot", type=Path, default=None, help="fine-tune on 10-shot (or reuse) here")
    b.add_argument(
        "--setfit-10shot", type=Path, default=None, help="contrastive 10-shot tuning (or reuse) here"
    )
    b.add_argument(
        "--clinc-tuned",
        type=Path,
        default=None,
        help="CLINC150 with `--method tuned` too: fine-tuned here (about 30 minutes on 2 cores), or reused",
    )
    b.add_argument(
        "--latency-only",
        action="store_true",
        help="remeasure only the latency (run it without nice) and rewrite the report from its JSON",
    )
    b.add_argument(
        "--clinc-only",
        action="store_true",
        help="rerun only CLINC150 (vectors cached: minutes) and rewrite the report from its JSON",
    )
    args = parser.parse_args(argv)

    if args.command == "intent":
        from kefu.agents.nlu.finetune import FineTuneSettings
        from kefu.agents.nlu.intent_training import train_intent_model
        from kefu.agents.nlu.labelled_data import read_labelled

        data = read_labelled(args.data)
        settings = FineTuneSettings(
            learning_rate=args.lr,
            epochs=args.epochs,
            batch_size=args.batch_size,
            seed=args.seed,
            device=args.device,
        )
        model = train_intent_model(
            data,
            method=args.method,
            val_fraction=args.val_fraction,
            seed=args.seed,
            settings=settings,
            validation=read_labelled(args.validation) if args.validation else None,
            mahalanobis=args.mahalanobis,
        )
        print(f"wrote {model.save(args.out)}")
        print(json.dumps(model.report, indent=1))
        return 0
    if args.command == "sentiment":
        from kefu.agents.nlu.sentiment_training import train_sentiment

        print(json.dumps(train_sentiment(args.data, args.out), indent=1))
        return 0
    from kefu.agents.nlu.public_bench import bench_clinc150, bench_latency, run_public_benchmark

    if args.clinc_only:
        report = json.loads(args.doc.with_suffix(".json").read_text(encoding="utf-8"))
        report["clinc150"] = bench_clinc150(args.data, print, args.clinc_tuned)
        args.doc.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
        args.doc.write_text(render_report(report, report.get("rerun", "")), encoding="utf-8")
        print(f"wrote {args.doc}")
        return 0

    if args.latency_only:
        report = json.loads(args.doc.with_suffix(".json").read_text(encoding="utf-8"))
        report["latency"] = bench_latency()
        args.doc.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
        args.doc.write_text(render_report(report, report.get("rerun", "")), encoding="utf-8")
        print(json.dumps(report["latency"]))
        return 0
    report = run_public_benchmark(
        args.data,
        finetune_full=args.finetune_full,
        finetune_10shot=args.finetune_10shot,
        setfit_10shot=args.setfit_10shot,
        clinc_tuned=args.clinc_tuned,
    )
    rerun = "nice -n 10 .venv/bin/kefu bench nlu-public" + (
        f" --finetune-10shot {args.finetune_10shot}" if args.finetune_10shot else ""
    )
    rerun += f" --finetune-full {args.finetune_full}" if args.finetune_full else ""
    rerun += f" --setfit-10shot {args.setfit_10shot}" if args.setfit_10shot else ""
    rerun += f" --clinc-tuned {args.clinc_tuned}" if args.clinc_tuned else ""
    rerun += "`, then `.venv/bin/kefu bench nlu-public --latency-only"
    report["rerun"] = rerun
    args.doc.parent.mkdir(parents=True, exist_ok=True)
    args.doc.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    args.doc.write_text(render_report(report, rerun), encoding="utf-8")
    print(f"wrote {args.doc}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
