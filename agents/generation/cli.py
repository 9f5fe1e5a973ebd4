"""`kefu train generator`, `kefu bench generation` and the held-out evaluation, as one argparse program.

python -m kefu.agents.generation.cli train [--steps N] [--out DIR]
python -m kefu.agents.generation.cli eval [--n N]          → docs/benchmarks_generation.md
python -m kefu.agents.generation.cli bench [--variants ...] → docs/benchmarks_generation.md
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

DOC = Path("docs/benchmarks_generation.md")
DEFAULT_OUT = Path(__file__).resolve().parent / "adapters" / "kefu-writer"


def write_section(path: Path, title: str, body: str) -> None:
    """Replace (or append) the `## title` section of a Markdown file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = path.read_text(encoding="utf-8") if path.exists() else "# Reply generation benchmarks\n"
    header = f"## {title}"
    start = text.find(header)
    new = f"{header}\n\n{body.strip()}\n"
    if start < 0:
        text = text.rstrip() + "\n\n" + new
    else:
        end = text.find("\n## ", start + len(header))
        text = text[:start] + new + ("\n" + text[end + 1 :] if end >= 0 else "")
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kefu-generation", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="LoRA fine-tuning of the reply writer")
    t.add_argument("--out", type=Path, default=DEFAULT_OUT)
    t.add_argument("--steps", type=int, default=150)
    t.add_argument("--batch-size", type=int, default=8)
    t.add_argument("--lr", type=float, default=3e-4)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    t.add_argument(
        "--max-len",
        type=int,
        default=640,
        help="longest prompt + reply in tokens; longer pairs are left out (and counted)",
    )
    t.add_argument(
        "--bitext",
        type=Path,
        default=Path("../shared/datasets/bitext_customer_support/bitext_customer_support_4514.csv"),
        help="Bitext CSV for style pairs ('' for none)",
    )
    e = sub.add_parser("eval", help="held-out quality, base vs fine-tuned")
    e.add_argument("--n", type=int, default=60)
    e.add_argument("--adapter", type=Path, default=None)
    e.add_argument("--doc", type=Path, default=DOC)
    b = sub.add_parser("bench", help="tokens/s and first-token latency per precision")
    b.add_argument(
        "--variants",
        nargs="+",
        default=["fp32", "bf16", "int8-dynamic", "fp32+lookup", "bf16+lookup"],
        help="fp32, bf16, int8-dynamic, bf16-compiled; a +lookup suffix adds prompt-lookup decoding",
    )
    b.add_argument("--new-tokens", type=int, default=64)
    b.add_argument("--doc", type=Path, default=DOC)
    args = parser.parse_args(argv)

    if args.command == "train":
        from kefu.agents.generation.training.train import TrainSettings, train

        bitext = args.bitext if str(args.bitext) else None
        metrics = train(
            TrainSettings(
                out=args.out,
                steps=args.steps,
                batch_size=args.batch_size,
                lr=args.lr,
                seed=args.seed,
                device=args.device,
                bitext=bitext,
                max_len=args.max_len,
            )
        )
        print(json.dumps({k: v for k, v in metrics.items() if k != "settings"}, indent=2))
        return 0
    if args.command == "eval":
        from kefu.agents.generation.training.evaluate import evaluate, markdown

        result = evaluate(args.n, adapter=args.adapter)
        body = markdown(result)
        write_section(
            args.doc,
            "Quality on held-out plans",
            f"Reproduce: `kefu eval generation` or `python -m kefu.agents.generation.cli eval --n {args.n}`.\n\n{body}",
        )
        print(body)
        return 0
    from kefu.agents.generation.bench import markdown as bench_md
    from kefu.agents.generation.bench import run

    results = run(tuple(args.variants), new_tokens=args.new_tokens)
    body = bench_md(results, new_tokens=args.new_tokens)
    write_section(
        args.doc,
        "Speed on CPU",
        f"Reproduce: `kefu bench generation` (`--variants {' '.join(args.variants)}`).\n\n{body}",
    )
    print(body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
