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
import contextlib
import itertools
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
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


def rss_mib(pid: int) -> float:
    """Resident set size of a process in MiB (Linux /proc), NaN where unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


@dataclass
class SoakResult:
    run: LevelResult
    rss_idle: float
    """After the server's first few turns (models loaded), before any load at this concurrency."""
    warmup: float
    rss_before: float
    rss_after: float
    samples: list[tuple[float, float]]
    """(seconds into the soak, RSS MiB) every `every` seconds."""

    @property
    def growth(self) -> float:
        return self.rss_after / self.rss_before - 1


async def soak(
    url: str,
    key: str,
    pid: int,
    seconds: float,
    *,
    sessions: int = 32,
    every: float = 30.0,
    warmup: float = 30.0,
) -> SoakResult:
    """`sessions` customers for `seconds`, the server's RSS read before, every `every` s, and after.

    The first reading comes after `warmup` seconds at the same concurrency, so that what the soak measures
    is growth under steady load (a leak), not the one-off cost of `sessions` turns in flight at once.
    """
    idle = rss_mib(pid)
    if warmup > 0:
        await run_level(url, key, sessions, warmup, 0.0)
    before = rss_mib(pid)
    samples: list[tuple[float, float]] = [(0.0, before)]
    start = time.perf_counter()

    async def sample() -> None:
        while True:
            await asyncio.sleep(every)
            samples.append((time.perf_counter() - start, rss_mib(pid)))

    sampler = asyncio.create_task(sample())
    try:
        run = await run_level(url, key, sessions, seconds, 0.0)
    finally:
        sampler.cancel()
    await asyncio.sleep(1.0)  # in-flight turns settle
    after = rss_mib(pid)
    samples.append((time.perf_counter() - start, after))
    return SoakResult(run, idle, warmup, before, after, samples)


def soak_markdown(result: SoakResult, *, command: str, load: float, nice: int) -> str:
    r = result.run
    trace = ", ".join(f"{t:.0f} s: {m:.0f}" for t, m in result.samples)
    verdict = "met" if result.growth < 0.10 else "missed"
    return "\n".join(
        [
            f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.machine()} with "
            f"{os.cpu_count()} CPU cores shared with other work (load average before the run {load:.1f}; "
            f"server and client ran with nice {nice}), the embedded brain, SQLite. The server had answered "
            f"a few warm-up turns (models loaded; RSS {result.rss_idle:.0f} MiB), then ran "
            f"{result.warmup:.0f} s at {r.sessions} sessions before the soak's first reading, so the growth "
            f"below is under steady load. RSS is the server process's resident memory (`VmRSS`).",
            "",
            f"- {r.seconds:.0f} s at {r.sessions} sessions: {r.turns} turns ({r.turns / r.seconds:.1f}/s), "
            f"p50 {r.pct(50):.0f} ms, p95 {r.pct(95):.0f} ms, p99 {r.pct(99):.0f} ms, {len(r.errors)} errors.",
            f"- RSS before {result.rss_before:.0f} MiB, after {result.rss_after:.0f} MiB: growth "
            f"{result.growth * 100:+.1f}% (target under 10%: {verdict}).",
            f"- RSS over the soak (MiB): {trace}.",
            f"- From the reading after the warm-up turns ({result.rss_idle:.0f} MiB) to the end: "
            f"{(result.rss_after / result.rss_idle - 1) * 100:+.1f}%, the step being the first "
            f"{result.warmup:.0f} s of {r.sessions} sessions at once (buffers, threads, caches filling).",
            "",
            "Memory, not speed, is what this run measures: it runs once, nice'd, on a machine shared with "
            "other work, so its turns/s can be lower than in the table above.",
            "",
            "Rerun (about 6 minutes):",
            "",
            "```bash",
            command,
            "```",
        ]
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    workdir: Path,
    key: str,
    *,
    max_concurrent_turns: int,
    config: Path | None = None,
    name: str = "server",
    wait: bool = True,
    store_url: str | None = None,
) -> tuple[subprocess.Popen[bytes], str]:
    """`kefu serve` on a free loopback port: the demo shop on SQLite under `workdir`, or, with `config`
    (an assistant config file, e.g. the PostgreSQL/Chroma/Redis stack), that config's engines."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    server_config = workdir / f"{name}.yaml"
    server_config.write_text(
        "api_keys:\n"
        f"  - {{key: {key}, name: bench, role: app}}\n"
        "rate_per_minute: {app: 100000000, widget: 60, operator: 600}\n"
        "rate_burst: 100000\n"
        f"max_concurrent_turns: {max_concurrent_turns}\n"
        + (f"store_url: '{store_url}'\n" if store_url else ""),
        encoding="utf-8",
    )
    log = (workdir / f"{name}.log").open("wb")
    where = ["--config", str(config)] if config is not None else ["--demo"]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kefu.server",
            *where,
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
    if wait:
        wait_ready(proc, url, workdir / f"{name}.log")
    return proc, url


@contextlib.contextmanager
def replicas(
    workdir: Path,
    key: str,
    names: Sequence[str],
    *,
    max_concurrent_turns: int,
    config: Path | None = None,
    store_url: str | None = None,
    stop_timeout: float = 60,
) -> Iterator[list[tuple[subprocess.Popen[bytes], str]]]:
    """Several `kefu serve` processes started together (they load and migrate in parallel), each ready
    before the block runs; SIGTERM to all afterwards, so in-flight turns finish, then kill stragglers."""
    started: list[tuple[subprocess.Popen[bytes], str]] = []
    try:
        for name in names:
            started.append(
                start_server(
                    workdir / name,
                    key,
                    max_concurrent_turns=max_concurrent_turns,
                    config=config,
                    name=name,
                    wait=False,
                    store_url=store_url,
                )
            )
        for (proc, url), name in zip(started, names, strict=True):
            wait_ready(proc, url, workdir / name / f"{name}.log")
        yield started
    finally:
        for proc, _ in started:
            proc.send_signal(signal.SIGTERM)
        for proc, _ in started:
            try:
                proc.wait(stop_timeout)
            except subprocess.TimeoutExpired:
                proc.kill()


def wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path, timeout: float = 180) -> None:
    """Until `url`/healthz answers 200; the server's log in the error when it exits or never answers."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"the server exited ({proc.returncode}): {log.read_text(errors='replace')[-3000:]}"
            )
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"the server did not start within {timeout:.0f} s")


async def run_level(
    url: str | list[str], key: str, sessions: int, seconds: float, warmup: float
) -> LevelResult:
    """`sessions` customers at once for `seconds` after `warmup`. With several URLs (replicas), each turn
    goes to the next replica in turn, as a load balancer without sticky sessions would send it."""
    result = LevelResult(sessions, seconds)
    urls = [url] if isinstance(url, str) else list(url)
    limits = httpx.Limits(max_connections=sessions + 4, max_keepalive_connections=sessions + 4)
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=u, headers={"X-API-Key": key}, timeout=120, limits=limits)
            )
            for u in urls
        ]
        turn_no = itertools.count()
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
                    client = clients[next(turn_no) % len(clients)]
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
        "Rerun (about 2 minutes; the soak below is a separate run, `--levels '' --soak 300`):",
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
    if not levels and args.soak <= 0:
        parser.error("nothing to run: give --levels or --soak")
    key = f"bench-{secrets.token_hex(12)}"
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="kefu-bench-") as tmp:
        proc, url = start_server(Path(tmp), key, max_concurrent_turns=args.max_concurrent_turns)
        try:
            asyncio.run(run_level(url, key, 4, 3.0, 1.0))  # load the models, warm the caches
            results: list[LevelResult] = []
            for n in levels:
                r = asyncio.run(run_level(url, key, n, args.seconds, args.warmup))
                print(
                    f"{n:>3} sessions: {r.turns / r.seconds:6.1f} turns/s  p50 {r.pct(50):6.0f} ms  "
                    f"p95 {r.pct(95):6.0f} ms  errors {len(r.errors)}",
                    flush=True,
                )
                results.append(r)
            soaked = asyncio.run(soak(url, key, proc.pid, args.soak)) if args.soak > 0 else None
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
    if results:
        command = ".venv/bin/python -m kefu.server.load_bench --out docs/benchmarks_service.md"
        body = markdown(
            results, command=command, seconds=args.seconds, turns_workers=args.max_concurrent_turns, load=load
        )
        print(body)
        if args.out is not None:
            write_section(args.out, "Throughput and latency under load", body)
    if soaked is not None:
        command = (
            f"nice -n 10 .venv/bin/python -m kefu.server.load_bench --levels '' --soak {args.soak:.0f} "
            "--out docs/benchmarks_service.md"
        )
        body = soak_markdown(soaked, command=command, load=load, nice=os.nice(0))
        print(body)
        if args.out is not None:
            write_section(args.out, "Memory over a soak", body)
        results.append(soaked.run)
    errors = sum(len(r.errors) for r in results)
    for r in results:
        for e in r.errors[:3]:
            print(f"error at {r.sessions} sessions: {e}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
