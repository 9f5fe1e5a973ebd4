"""python -m kefu.evals.retrieval --out FILE.md [--datasets DIR] [--latency-records N] [--work-dir DIR] [--threads N]

A kept --work-dir makes reruns fast, but then the ingest table only counts what changed: measure ingest speed
without it. The tuned-encoder rows train two adapters (about 8 minutes each at one thread, the whole run about
30 minutes); --tune-steps 0 leaves them out (about 5 minutes)."""

from __future__ import annotations

import os

# Before numpy/torch load: use the machine's cores, no more (shared machines), and no tokenizer thread pool.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, str(min(4, os.cpu_count() or 1)))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import argparse  # noqa: E402
import shlex  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from .datasets import default_datasets_dir  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kefu.evals.retrieval", description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="Markdown report to write")
    parser.add_argument(
        "--datasets", type=Path, default=None, help="the shared datasets folder (default: found)"
    )
    parser.add_argument(
        "--latency-records", type=int, default=10_000, help="records indexed for the latency test"
    )
    parser.add_argument("--seed", type=int, default=13, help="seed of the Bitext split")
    parser.add_argument(
        "--work-dir", type=Path, default=None, help="keep the indexes here (reruns skip embedding)"
    )
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument(
        "--tune-steps",
        type=int,
        default=120,
        help="also rank with encoders tuned on each FAQ (kefu kb tune) for this many steps; 0: skip",
    )
    args = parser.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    from .report import render
    from .runner import run

    datasets = args.datasets or default_datasets_dir()
    results = run(
        datasets,
        latency_records=args.latency_records,
        seed=args.seed,
        work_dir=args.work_dir,
        tune_steps=args.tune_steps,
        log=lambda m: print(m, flush=True),
    )
    command = "python -m kefu.evals.retrieval " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    text = render(results, command)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
