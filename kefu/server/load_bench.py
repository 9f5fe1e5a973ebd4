"""Load benchmark of the HTTP service: throughput and latency at several numbers of concurrent sessions.

    python -m kefu.server.load_bench --out docs/benchmarks_service.md

Starts `kefu serve` (as `python -m kefu.server`) on 127.0.0.1 on a free port over a fresh demo shop,
then, for each level, runs that many sessions at once, each a customer going through a short
scripted conversation again and again (a new session each time), for a fixed time. Every request
must succeed; latency is measured at the client, per turn (`POST /v1/sessions/{id}/messages`).
Loopback only, bounded in time, and it stops the server it started.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

SCRIPT = [
    "hi, where is my order #W7678072?",
    "noah.brown7922@example.com",
    "what is the status of order #W7678072?",
    "thanks, that's all",
]
LEVELS = (1, 8, 32, 64)


@dataclass
class LevelResult:
    sessions: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def turns(self) -> int:
        return len(self.latencies_ms)

    def pct(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        data = sorted(self.latencies_ms)
        return data[min(len(data) - 1, int(round(q / 100 * (len(data) - 1))))]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    workdir: Path, key: str, *, max_concurrent_turns: int
) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    server_config = workdir / "server.yaml"
    server_config.write_text(
        "api_keys:\n"
        f"  - {{key: {key}, name: bench, role: app}}\n"
        "rate_per_minute: {app: 100000000, widget: 60, operator: 600}\n"
        "rate_burst: 100000\n"
        f"max_concurrent_turns: {max_concurrent_turns}\n",
        encoding="utf-8",
    )
    log = (workdir / "server.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kefu.server",
            "--demo",
            "--data-dir",
            str(workdir / "data"),
            "--server-config",
            str(server_config),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited ({proc.returncode}); see {workdir / 'server.log'}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the server did not start within 120 s")


async def run_level(url: str, key: str, sessions: int, seconds: float, warmup: float) -> LevelResult:
    result = LevelResult(sessions, seconds)
    limits = httpx.Limits(max_connections=sessions + 4, max_keepalive_connections=sessions + 4)
    async with httpx.AsyncClient(
        base_url=url, headers={"X-API-Key": key}, timeout=120, limits=limits
    ) as client:
        start = time.perf_counter()
        measure_from, stop_at = start + warmup, start + warmup + seconds

        async def customer(n: int) -> None:
            round_ = 0
            while time.perf_counter() < stop_at:
                sid = f"bench-{sessions}-{n}-{round_}-{secrets.token_hex(3)}"
                round_ += 1
                for text in SCRIPT:
                    if time.perf_counter() >= stop_at:
                        return
                    t0 = time.perf_counter()
                    try:
                        r = await client.post(f"/v1/sessions/{sid}/messages", json={"text": text})
                        ok = r.status_code == 200 and r.json()["reply"]["text"]
                        why = "" if ok else f"HTTP {r.status_code}: {r.text[:200]}"
                    except Exception as e:  # counted, never hidden
                        why = f"{type(e).__name__}: {e}"
                    t1 = time.perf_counter()
                    if t0 >= measure_from and t1 <= stop_at:
                        if why:
                            result.errors.append(why)
                        else:
                            result.latencies_ms.append((t1 - t0) * 1000)
                    elif why:
                        result.errors.append(why)

        await asyncio.gather(*(customer(i) for i in range(sessions)))
    return result


def markdown(
    results: list[LevelResult], *, command: str, seconds: float, turns_workers: int, load: float
) -> str:
    cpu = os.cpu_count()
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()} with {cpu} CPU cores, Python "
        f"{platform.python_version()}, the embedded brain (no LLM), SQLite for the shop, sessions and the "
        f"console store; server and load client on the same machine over loopback. Each level runs "
        f"{seconds:.0f} s after a warm-up; each session is a customer going through a "
        f"{len(SCRIPT)}-message conversation (order status with authentication, then goodbye), again and "
        f"again in new sessions. `max_concurrent_turns` = {turns_workers}. Load average of the machine "
        f"before the run: {load:.1f} (other work on the machine lowers the figures).",
        "",
        "| concurrent sessions | turns | throughput (turns/s) | p50 (ms) | p95 (ms) | p99 (ms) | errors |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.sessions} | {r.turns} | {r.turns / r.seconds:.1f} | {r.pct(50):.0f} | {r.pct(95):.0f} | "
            f"{r.pct(99):.0f} | {len(r.errors)} |"
        )
    lines += [
        "",
        "Rerun (about 2 minutes; add `--soak 300` for the 5-minute soak at 32 sessions below, as measured here):",
        "",
        "```bash",
        command,
        "```",
    ]
    return "\n".join(lines)


def write_section(path: Path, title: str, body: str) -> None:
    """Replace (or add) the `## title` section of a Markdown file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = path.read_text(encoding="utf-8") if path.exists() else "# Service benchmarks\n"
    header = f"## {title}"
    start = text.find(header)
    new = f"{header}\n\n{body.strip()}\n"
    if start < 0:
        text = text.rstrip() + "\n\n" + new
    else:
        end = text.find("\n## ", start + len(header))
        text = text[:start] + new + (text[end + 1 :] if end >= 0 else "")
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--levels", default=",".join(map(str, LEVELS)), help="Concurrent sessions, e.g. 1,8,32,64."
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="Measured seconds per level.")
    parser.add_argument("--warmup", type=float, default=3.0, help="Unmeasured seconds before each level.")
    parser.add_argument(
        "--soak", type=float, default=0.0, help="Also run a soak of this many seconds at 32 sessions."
    )
    parser.add_argument("--max-concurrent-turns", type=int, default=8)
    parser.add_argument("--out", type=Path, default=None, help="Markdown file whose section to replace.")
    args = parser.parse_args(argv)
    levels = [int(x) for x in args.levels.split(",") if x.strip()]
    key = f"bench-{secrets.token_hex(12)}"
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="kefu-bench-") as tmp:
        proc, url = start_server(Path(tmp), key, max_concurrent_turns=args.max_concurrent_turns)
        try:
            asyncio.run(run_level(url, key, 4, 3.0, 1.0))  # load the models, warm the caches
            results = []
            for n in levels:
                r = asyncio.run(run_level(url, key, n, args.seconds, args.warmup))
                print(
                    f"{n:>3} sessions: {r.turns / r.seconds:6.1f} turns/s  p50 {r.pct(50):6.0f} ms  "
                    f"p95 {r.pct(95):6.0f} ms  errors {len(r.errors)}",
                    flush=True,
                )
                results.append(r)
            soak = asyncio.run(run_level(url, key, 32, args.soak, 0.0)) if args.soak > 0 else None
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
    command = ".venv/bin/python -m kefu.server.load_bench --out docs/benchmarks_service.md"
    body = markdown(
        results, command=command, seconds=args.seconds, turns_workers=args.max_concurrent_turns, load=load
    )
    if soak is not None:
        body += (
            f"\n\nSoak: {soak.seconds:.0f} s at 32 sessions: {soak.turns} turns "
            f"({soak.turns / soak.seconds:.1f}/s), p50 {soak.pct(50):.0f} ms, p95 {soak.pct(95):.0f} ms, "
            f"p99 {soak.pct(99):.0f} ms, {len(soak.errors)} errors."
        )
    print(body)
    if args.out is not None:
        write_section(args.out, "Throughput and latency under load", body)
    errors = sum(len(r.errors) for r in results) + (len(soak.errors) if soak else 0)
    for r in results:
        for e in r.errors[:3]:
            print(f"error at {r.sessions} sessions: {e}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
