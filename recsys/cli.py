"""``python -m kefu.recsys``: evaluate, tune and fit from the command line.

    python -m kefu.recsys eval --out docs/benchmarks_recsys.md     # the benchmark report
    python -m kefu.recsys tune --dataset movielens --out tuned.json
    python -m kefu.recsys tune --events events.jsonl --view blend --out tuned.json
    python -m kefu.recsys fit --events events.jsonl --config tuned.json --out models/shop

Event files: JSON lines or CSV with the columns ``Event.from_row`` reads (user_id, item_id, kind,
timestamp, weight, value). Datasets are looked up under ``--datasets`` (default
``$KEFU_DATASETS`` or ``../shared/datasets``).
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from kefu.recsys.config import RecommenderConfig
from kefu.recsys.datasets import load_movielens, load_online_retail, load_tau_bench_orders
from kefu.recsys.events import EventTable


def _datasets_dir(value: str | None) -> Path:
    return Path(value or os.environ.get("KEFU_DATASETS") or Path.cwd().parent / "shared" / "datasets")


def _read_events(path: Path) -> EventTable:
    if path.suffix == ".csv":
        with open(path, newline="", encoding="utf-8") as fh:
            return EventTable.from_events(csv.DictReader(fh))
    with open(path, encoding="utf-8") as fh:
        return EventTable.from_events(json.loads(line) for line in fh if line.strip())


def _load(args: argparse.Namespace) -> EventTable:
    if args.events:
        return _read_events(Path(args.events))
    root = _datasets_dir(args.datasets)
    if args.dataset == "online-retail":
        return load_online_retail(root / "ecommerce_online_retail_uci" / "online_retail.csv.gz")
    if args.dataset == "movielens":
        table = load_movielens(root / "movielens_latest_small" / "ratings.csv")
        return table.select(table.values >= 4.0)
    return EventTable.from_events(load_tau_bench_orders(root / "tau_bench_retail" / "orders.json"))


def _eval(args: argparse.Namespace) -> int:
    from kefu.recsys.benchmark import run, write_report

    root = _datasets_dir(args.datasets)
    if not root.is_dir():
        print(f"datasets not found at {root} (set --datasets or KEFU_DATASETS)", file=sys.stderr)
        return 2
    command = "python -m kefu.recsys eval --out " + str(args.out) + (" --quick" if args.quick else "")
    report = run(root, quick=args.quick, threads=args.threads, say=lambda m: print(m, flush=True))
    path = write_report(report, Path(args.out), command)
    print(f"wrote {path}")
    return 0


def _tune(args: argparse.Namespace) -> int:
    from kefu.recsys.tuning import tune

    table = _load(args)
    base = RecommenderConfig().with_als(num_threads=args.threads)
    result = tune(
        table, view=args.view, base=base, passes=args.passes, progress=lambda m: print(m, flush=True)
    )
    text = json.dumps(result.best.to_dict(), indent=1)
    print(f"validation ({result.validation}) NDCG@10 {result.validation_ndcg:.4f}")
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        print(text)
    return 0


def _fit(args: argparse.Namespace) -> int:
    from kefu.recsys.recommender import Recommender

    config = RecommenderConfig()
    if args.config:
        config = RecommenderConfig.from_dict(json.loads(Path(args.config).read_text(encoding="utf-8")))
    model = Recommender(config).fit(_load(args))
    model.save(args.out)
    print(f"fitted {len(model.users)} customers x {len(model.items)} items -> {args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m kefu.recsys", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def data_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--events", help="JSON-lines or CSV file of events")
        p.add_argument(
            "--dataset", choices=["online-retail", "movielens", "tau-bench"], default="online-retail"
        )
        p.add_argument("--datasets", help="folder holding the datasets")
        p.add_argument("--threads", type=int, default=1, help="implicit threads (0: all cores)")

    ev = sub.add_parser("eval", help="run the benchmark and write the markdown report")
    ev.add_argument("--out", default="docs/benchmarks_recsys.md")
    ev.add_argument("--datasets")
    ev.add_argument("--threads", type=int, default=1)
    ev.add_argument("--quick", action="store_true", help="small grid, one pass (smoke run)")
    ev.set_defaults(handler=_eval)

    tn = sub.add_parser("tune", help="search settings on a validation split carved from the events")
    data_args(tn)
    tn.add_argument("--view", choices=["discover", "blend"], default="discover")
    tn.add_argument("--passes", type=int, default=2)
    tn.add_argument("--out", help="write the chosen config as JSON here")
    tn.set_defaults(handler=_tune)

    ft = sub.add_parser("fit", help="fit on events and save a model directory")
    data_args(ft)
    ft.add_argument("--config", help="config JSON (e.g. from tune)")
    ft.add_argument("--out", required=True)
    ft.set_defaults(handler=_fit)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    return int(args.handler(args))
