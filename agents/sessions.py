"""Where conversations are kept: a LangGraph checkpointer chosen by URL (SQLite by default).

A new process opening the same store resumes every session where it stopped.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver


def open_checkpointer(url: str) -> BaseCheckpointSaver[Any]:
    """`sqlite:///path/sessions.sqlite` (default), or `memory://` for throwaway sessions."""
    if url.startswith("memory:"):
        return InMemorySaver()
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        saver = SqliteSaver(conn)
        saver.setup()
        return saver
    raise ValueError(f"unsupported sessions URL {url!r}: use sqlite:///PATH or memory://")
