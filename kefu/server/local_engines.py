"""Throwaway PostgreSQL, Redis and Chroma servers on loopback, for tests and the deployment benchmark.

Each `start_*` runs the real server binary (from Debian: `postgresql`, `redis-server`; from PyPI: the
`chroma` CLI of chromadb) on a free 127.0.0.1 port over a fresh directory, waits until it answers,
and returns an `Engine` whose `stop()` ends it. A missing binary raises `EngineMissing`, whose
message says how to install it; tests turn it into a skip.

PostgreSQL refuses to run as root: when this process is root (CI containers), `initdb` and
`postgres` run as the unprivileged `nobody` user over a directory handed to it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

POSTGRES_USER = "kefu"


class EngineMissing(RuntimeError):
    """The server's binary is not installed here (the message says how to install it)."""


@dataclass
class Engine:
    """One running server: its URL, its process, and the directory it owns."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    workdir: Path
    log: Path
    _cleanup: list[Callable[[], None]] = field(default_factory=list)

    def stop(self, timeout: float = 20) -> None:
        if self.process.poll() is None:
            # SIGINT is PostgreSQL's "fast" shutdown; redis-server and chroma exit on it too. The whole
            # process group: under `runuser` the server is runuser's child.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout)
        for fn in self._cleanup:
            fn()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(engine: Engine, ready: Callable[[], bool], timeout: float) -> Engine:
    deadline = time.monotonic() + timeout
    while True:
        if engine.process.poll() is not None:
            tail = engine.log.read_text(errors="replace")[-2000:] if engine.log.exists() else ""
            engine.stop()
            raise RuntimeError(f"{engine.name} exited with {engine.process.returncode}: {tail}")
        with contextlib.suppress(OSError):
            if ready():
                return engine
        if time.monotonic() > deadline:
            engine.stop()
            raise RuntimeError(f"{engine.name} did not answer within {timeout:.0f} s (log: {engine.log})")
        time.sleep(0.1)


# ---- PostgreSQL -------------------------------------------------------------------------------------
def postgres_bin(tool: str) -> str:
    """A PostgreSQL program: `$KEFU_PG_BIN`, the PATH, or Debian's /usr/lib/postgresql/<version>/bin."""
    for directory in filter(None, [os.environ.get("KEFU_PG_BIN")]):
        candidate = Path(directory) / tool
        if candidate.is_file():
            return str(candidate)
    found = shutil.which(tool)
    if found:
        return found
    debian = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{tool}"), key=lambda p: int(Path(p).parts[4].split(".")[0])
    )
    if debian:
        return debian[-1]
    raise EngineMissing(
        f"PostgreSQL's `{tool}` was not found (apt-get install -y postgresql; make test does it in CI)"
    )


def _as_unprivileged() -> tuple[list[str], Callable[[Path], None]]:
    """The command prefix and directory hand-over that run PostgreSQL as `nobody` when we are root."""
    if os.geteuid() != 0:
        return [], lambda _p: None
    runuser = shutil.which("runuser")
    if runuser is None:
        raise EngineMissing("running PostgreSQL as root needs `runuser` (util-linux) to drop to `nobody`")
    import pwd

    nobody = pwd.getpwnam("nobody")

    def give(path: Path) -> None:
        for root, dirs, files in os.walk(path):
            for name in [*dirs, *files]:
                os.chown(os.path.join(root, name), nobody.pw_uid, nobody.pw_gid)
        os.chown(path, nobody.pw_uid, nobody.pw_gid)

    return [runuser, "-u", "nobody", "--"], give


def start_postgres(*, durable: bool = False, timeout: float = 60) -> Engine:
    """A fresh PostgreSQL cluster on a free loopback port, trust authentication for `kefu`.

    The URL names the `postgres` database; `create_database` makes more. `durable=False` turns fsync
    off (tests: nothing to keep after a crash); the benchmark keeps PostgreSQL's defaults.
    """
    initdb, postgres = postgres_bin("initdb"), postgres_bin("postgres")
    prefix, give = _as_unprivileged()
    # Not under pytest's tmp_path: that is private to root, and `nobody` must reach the directory.
    workdir = Path(tempfile.mkdtemp(prefix="kefu-pg-"))
    data, log = workdir / "data", workdir / "postgres.log"
    log.touch()
    give(workdir)
    subprocess.run(
        [*prefix, initdb, "-D", str(data), "-U", POSTGRES_USER, "-A", "trust", "-E", "UTF8", "--locale=C"]
        + ([] if durable else ["--no-sync"]),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    port = free_port()
    settings = ["-c", "max_connections=300", "-c", "shared_buffers=128MB"]
    if not durable:
        settings += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
    with log.open("ab") as out:
        process = subprocess.Popen(
            [*prefix, postgres, "-D", str(data), "-p", str(port), "-h", "127.0.0.1", "-k", "", *settings],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"postgresql+psycopg://{POSTGRES_USER}@127.0.0.1:{port}/postgres"
    engine = Engine("postgres", url, process, workdir, log)
    engine._cleanup.append(lambda: shutil.rmtree(workdir, ignore_errors=True))
    return _wait(engine, lambda: _pg_ready(url), timeout)


def _pg_ready(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(libpq_url(url), connect_timeout=1) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.OperationalError:
        return False


def libpq_url(url: str) -> str:
    """`postgresql+psycopg://...` (SQLAlchemy's form) as psycopg and libpq take it."""
    return "postgresql://" + url.split("://", 1)[1]


def create_database(server_url: str, name: str, *, template: str | None = None) -> str:
    """A new database on the server of `server_url` (optionally a copy of `template`); its URL."""
    import psycopg
    from psycopg import sql

    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template)
        )
    with psycopg.connect(libpq_url(server_url), autocommit=True) as conn:
        conn.execute(statement)
    return server_url.rsplit("/", 1)[0] + f"/{name}"


# ---- Redis ------------------------------------------------------------------------------------------
def start_redis(*, timeout: float = 20) -> Engine:
    """A redis-server with no persistence on a free loopback port."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise EngineMissing("redis-server was not found (apt-get install -y redis-server; make test in CI)")
    workdir = Path(tempfile.mkdtemp(prefix="kefu-redis-"))
    port = free_port()
    log = workdir / "redis.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            + ["--dir", str(workdir)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    engine = Engine("redis-server", f"redis://127.0.0.1:{port}/0", process, workdir, log)
    engine._cleanup.append(lambda: shutil.rmtree(workdir, ignore_errors=True))

    def ready() -> bool:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")

    return _wait(engine, ready, timeout)


# ---- Chroma -----------------------------------------------------------------------------------------
def chroma_cli() -> str:
    beside = Path(sys.executable).with_name("chroma")
    found = str(beside) if beside.is_file() else shutil.which("chroma")
    if found is None:
        raise EngineMissing("the `chroma` CLI (installed by the chromadb package) is not on this machine")
    return found


def start_chroma(*, timeout: float = 60) -> Engine:
    """`chroma run` over a fresh directory on a free loopback port (telemetry off)."""
    cli = chroma_cli()
    workdir = Path(tempfile.mkdtemp(prefix="kefu-chroma-"))
    port = free_port()
    log = workdir / "chroma.log"
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False", "CHROMA_ANONYMIZED_TELEMETRY": "False"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [cli, "run", "--path", str(workdir / "data"), "--host", "127.0.0.1", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    engine = Engine("chroma", url, process, workdir, log)
    engine._cleanup.append(lambda: shutil.rmtree(workdir, ignore_errors=True))

    def ready() -> bool:
        with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1) as response:
            return bool(response.status == 200)

    return _wait(engine, ready, timeout)
