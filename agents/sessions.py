"""Where conversations are kept: a LangGraph checkpointer chosen by URL (SQLite by default).

A new process opening the same store resumes every session where it stopped; with PostgreSQL every
replica of the server reads and writes the same sessions.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver

POSTGRES_PREFIXES = ("postgresql+psycopg://", "postgresql://", "postgres://")
_SETUP_LOCK = 0x6B656676  # pg_advisory_lock key held while the checkpoint tables are set up


def open_checkpointer(url: str) -> BaseCheckpointSaver[Any]:
    """`sqlite:///path/sessions.sqlite` (default), `postgresql+psycopg://...` (the same URL as the shop's
    database will do: its tables are LangGraph's own), or `memory://` for throwaway sessions."""
    if url.startswith("memory:"):
        return InMemorySaver()
    if url.startswith(POSTGRES_PREFIXES):
        return _postgres(url)
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        saver = SqliteSaver(conn)
        saver.setup()
        return saver
    raise ValueError(
        f"unsupported sessions URL {url!r}: use sqlite:///PATH, postgresql+psycopg://... or memory://"
    )


def _postgres(url: str) -> BaseCheckpointSaver[Any]:
    """LangGraph's Postgres saver over a small psycopg pool (one connection per turn in flight)."""
    try:
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool
    except ImportError as e:
        raise ValueError("PostgreSQL sessions need the extra: pip install 'kefu[postgres]'") from e
    conninfo = "postgresql://" + url.split("://", 1)[1]  # psycopg takes libpq URLs, not SQLAlchemy's
    pool: ConnectionPool[Any] = ConnectionPool(
        conninfo,
        min_size=1,
        max_size=16,
        kwargs={
            "autocommit": True,
            "prepare_threshold": 0,
            "row_factory": dict_row,
            # A checkpoint commit does not wait for its WAL flush (the embedded default's trade too:
            # SQLite WAL with synchronous=NORMAL). A crash of the database server may lose the last
            # fraction of a second of conversation memory, never corrupt it; shop writes and the audit
            # log go through the shop's engine and stay fully synchronous.
            "options": "-c synchronous_commit=off",
        },
        open=True,
    )
    saver = PostgresSaver(pool)  # type: ignore[arg-type]
    # LangGraph's own migrations take no lock, so replicas starting together take turns here. Polled with
    # a try-lock, not a waiting one: the migrations run CREATE INDEX CONCURRENTLY, which waits for every
    # open transaction, including a replica's blocked `pg_advisory_lock` call (a deadlock).
    with pool.connection() as conn:
        while not conn.execute("SELECT pg_try_advisory_lock(%s) AS ok", (_SETUP_LOCK,)).fetchone()["ok"]:  # type: ignore[index]
            time.sleep(0.2)
        try:
            saver.setup()
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_LOCK,))
    return saver
