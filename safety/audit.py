"""The audit trail: every verdict becomes one record handed to a sink the caller supplies.

A sink is any callable taking a dict (append to a list, write a database row, publish an event). The
default writes to Python logging (`kefu.safety.audit`): tripped checks at WARNING, clean ones at DEBUG.
Records never carry the customer's text or personal data, only the check, score, action, a short detail
and, for tool output, the tool's name.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from kefu.safety.verdicts import Verdict

AuditSink = Callable[[dict[str, Any]], None]
"""Receives one record per verdict: stage, check, score, tripped, action, detail, source, at."""

log = logging.getLogger("kefu.safety.audit")


def logging_sink(record: dict[str, Any]) -> None:
    """The default sink: one log line per verdict."""
    level = logging.WARNING if record["tripped"] else logging.DEBUG
    if log.isEnabledFor(level):
        source = f" ({record['source']})" if record.get("source") else ""
        log.log(
            level,
            "%s/%s%s score=%.3f tripped=%s action=%s %s",
            record["stage"],
            record["check"],
            source,
            record["score"],
            record["tripped"],
            record["action"],
            record["detail"],
        )


def emit(sink: AuditSink, stage: str, verdicts: Iterable[Verdict], *, source: str | None = None) -> None:
    """Hand each verdict to `sink`; a failing sink is logged, never raised into the customer's turn."""
    at = time.time()
    for verdict in verdicts:
        record = {"stage": stage, **verdict.to_dict(), "source": source, "at": at}
        try:
            sink(record)
        except Exception:  # the boundary: auditing must not break a turn
            log.exception("safety audit sink failed")


class ListSink:
    """Keeps records in memory (tests, notebooks, a per-turn collector)."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def __call__(self, record: dict[str, Any]) -> None:
        self.records.append(record)

    def tripped(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r["tripped"]]
