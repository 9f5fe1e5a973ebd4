"""The append-only event log: what happened in conversations, for analytics and the recommender.

One table, `events`, in the shop's database (SQLite by default): turns' notable facts such as a
product viewed, a purchase or return made through the assistant, a suggestion shown and whether the
customer followed it, and each turn's sentiment. Rows are only ever appended. The recommender reads
purchase/return/view/click rows as interactions and learns from them without a refit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Engine, Float, Integer, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker


class _Base(DeclarativeBase):
    pass


class EventRow(_Base):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=lambda: datetime.now(UTC), index=True
    )
    kind: Mapped[str] = mapped_column(String(40), index=True)
    """purchase, return, view, click, recommendation_shown, sentiment, ..."""
    session_id: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    customer_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    item_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class EventLog:
    """Append and read events in the shop database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        _Base.metadata.create_all(engine)
        self._sessions = sessionmaker(engine)

    def append(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        with self._sessions.begin() as s:
            s.add_all(EventRow(**r) for r in rows)

    def read(
        self, *, after_id: int = 0, kinds: tuple[str, ...] | None = None, session_id: str | None = None
    ) -> list[dict[str, Any]]:
        q = select(EventRow).where(EventRow.id > after_id).order_by(EventRow.id)
        if kinds:
            q = q.where(EventRow.kind.in_(kinds))
        if session_id is not None:
            q = q.where(EventRow.session_id == session_id)
        with self._sessions() as s:
            return [
                {
                    "id": e.id,
                    "at": e.at,
                    "kind": e.kind,
                    "session_id": e.session_id,
                    "customer_id": e.customer_id,
                    "item_id": e.item_id,
                    "weight": e.weight,
                    "payload": e.payload,
                }
                for e in s.scalars(q)
            ]
