"""Deployment benchmark: the embedded stack against PostgreSQL + Chroma server + Redis, one and two replicas.

    nice -n 10 .venv/bin/kefu bench deploy --out docs/benchmarks_deploy.md

In one run, on this machine, over loopback: for each stack and each number of replicas, it starts that
many `kefu serve` processes over one fresh demo shop and runs the service load generator
(`kefu.server.load_bench`) at `--sessions` concurrent customers, each turn sent to the next replica in
turn (a load balancer without sticky sessions). Every turn must succeed.

- embedded: SQLite for the shop, sessions and console store (shared by the replicas through the
  files, one machine only), events in the shop's table, Chroma on disk.
- scale-out: one PostgreSQL (its default durability), one `chroma run`, one redis-server, started
  here by `kefu.server.local_engines`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kefu.server.load_bench import LevelResult, run_level, write_section
from kefu.server.load_bench import replicas as running_replicas

COMMAND = "nice -n 10 .venv/bin/kefu bench deploy --out docs/benchmarks_deploy.md"


@dataclass
class DeployResult:
    stack: str
    replicas: int
    run: LevelResult
    rss_mib: list[float]


def _rss(pid: int) -> float:
    from kefu.server.load_bench import rss_mib

    return rss_mib(pid)


def _embedded_config(workdir: Path) -> dict[str, Any]:
    from kefu.assistant import ensure_demo_shop
    from kefu.config import Config

    data = workdir / "shared-data"
    ensure_demo_shop(Config(data_dir=data))
    # every replica points at the same files (the default paths are per --data-dir, so name them)
    return {
        "shop": {"database_url": f"sqlite:///{data / 'shop.sqlite'}"},
        "sessions": {"url": f"sqlite:///{data / 'sessions.sqlite'}"},
        "knowledge": {"location": str(data / "knowledge")},
    }


def _scaled_config(engines: dict[str, Any]) -> dict[str, Any]:
    from sqlalchemy import create_engine

    from kefu.server.local_engines import create_database
    from kefu.tools import load_shop

    url = create_database(engines["postgres"].url, f"kefu_bench_{secrets.token_hex(4)}")
    engine = create_engine(url)
    load_shop(engine)
    engine.dispose()
    return {
        "shop": {"database_url": url},
        "knowledge": {"location": engines["chroma"].url},
        "recsys": {"redis_url": engines["redis"].url},
    }


def run_stack(
    stack: str,
    config: dict[str, Any],
    replicas: int,
    workdir: Path,
    *,
    sessions: int,
    seconds: float,
    warmup: float,
    max_concurrent_turns: int,
    store_url: str | None = None,
) -> DeployResult:
    key = f"bench-{secrets.token_hex(12)}"
    run_dir = workdir / f"{stack}-{replicas}"
    run_dir.mkdir(parents=True, exist_ok=True)
    config_path = run_dir / "kefu.yaml"
    config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    names = [f"r{i}" for i in range(replicas)]
    with running_replicas(
        run_dir,
        key,
        names,
        max_concurrent_turns=max_concurrent_turns,
        config=config_path,
        store_url=store_url,
    ) as started:
        urls = [u for _, u in started]
        asyncio.run(run_level(urls, key, 4, 3.0, 1.0))  # every replica loads its models
        result = asyncio.run(run_level(urls, key, sessions, seconds, warmup))
        rss = [_rss(p.pid) for p, _ in started]
    print(
        f"{stack:>9} x{replicas}: {result.turns / result.seconds:6.1f} turns/s  p50 {result.pct(50):6.0f} ms  "
        f"p95 {result.pct(95):6.0f} ms  errors {len(result.errors)}",
        flush=True,
    )
    return DeployResult(stack, replicas, result, rss)


def markdown(results: list[DeployResult], *, sessions: int, seconds: float, load: float, turns: int) -> str:
    lines = [
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.machine()} with "
        f"{os.cpu_count()} CPU cores shared with other work (load average before the run {load:.1f}; "
        f"servers, engines and the load client all on this machine, nice {os.nice(0)}), Python "
        f"{platform.python_version()}, the embedded brain and template replies, safety checks on. "
        f"{sessions} concurrent sessions, {seconds:.0f} s measured per row after a warm-up; each session "
        "is a customer going through the 4-message order-status conversation of the service benchmark, "
        "again and again in new sessions; each turn goes to the next replica in turn (no sticky "
        f"sessions). `max_concurrent_turns` = {turns} per replica. Latency is measured at the client.",
        "",
        "| stack | replicas | turns | throughput (turns/s) | p50 (ms) | p95 (ms) | errors | RSS per replica (MiB) |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    names = {
        "embedded": "embedded (SQLite, Chroma on disk, event table)",
        "scale-out": "PostgreSQL + Chroma server + Redis",
    }
    for r in results:
        run = r.run
        lines.append(
            f"| {names[r.stack]} | {r.replicas} | {run.turns} | {run.turns / run.seconds:.1f} | "
            f"{run.pct(50):.0f} | {run.pct(95):.0f} | {len(run.errors)} | "
            f"{', '.join(f'{m:.0f}' for m in r.rss_mib)} |"
        )
    lines += [
        "",
        "On one machine a second replica adds processes, not cores: it shows that replicas share one "
        "set of engines correctly under load, not how throughput grows with machines (each replica of a "
        "real deployment has its own cores; see docs/deploy.md for sizing).",
        "",
        "Rerun (about 6 minutes):",
        "",
        "```bash",
        COMMAND,
        "```",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20.0, help="Measured seconds per row.")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--replicas", default="1,2", help="Numbers of replicas, e.g. 1,2.")
    parser.add_argument("--stacks", default="embedded,scale-out")
    parser.add_argument("--max-concurrent-turns", type=int, default=8)
    parser.add_argument("--out", type=Path, default=None, help="Markdown file whose section to replace.")
    args = parser.parse_args(argv)
    counts = [int(x) for x in args.replicas.split(",") if x.strip()]
    stacks = [s.strip() for s in args.stacks.split(",") if s.strip()]
    load = os.getloadavg()[0]
    results: list[DeployResult] = []
    engines: dict[str, Any] = {}
    common = {
        "sessions": args.sessions,
        "seconds": args.seconds,
        "warmup": args.warmup,
        "max_concurrent_turns": args.max_concurrent_turns,
    }
    with tempfile.TemporaryDirectory(prefix="kefu-deploy-bench-") as tmp:
        workdir = Path(tmp)
        try:
            for stack in stacks:
                if stack == "embedded":
                    config = _embedded_config(workdir)
                    store = f"sqlite:///{workdir / 'shared-data' / 'console.sqlite'}"
                else:
                    from kefu.server.local_engines import start_chroma, start_postgres, start_redis

                    if not engines:
                        engines["postgres"] = start_postgres(durable=True)
                        engines["redis"] = start_redis()
                        engines["chroma"] = start_chroma()
                    store = None
                for n in counts:
                    # a fresh shop per row: every row starts from the same data
                    if stack != "embedded":
                        config = _scaled_config(engines)
                    results.append(run_stack(stack, config, n, workdir, store_url=store, **common))  # type: ignore[arg-type]
        finally:
            for engine in engines.values():
                engine.stop()
    body = markdown(
        results, sessions=args.sessions, seconds=args.seconds, load=load, turns=args.max_concurrent_turns
    )
    print(body)
    if args.out is not None:
        write_section(args.out, "Embedded stack against PostgreSQL, Chroma server and Redis", body)
    errors = sum(len(r.run.errors) for r in results)
    for r in results:
        for e in r.run.errors[:3]:
            print(f"error ({r.stack} x{r.replicas}): {e}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
