"""The console's own state: conversations and who holds them, the channel's transcript, ratings and
suggestions shown, in a small SQLAlchemy store (SQLite by default, any SQLAlchemy URL at scale).

The assistant keeps its own memory of each session (the LangGraph checkpointer); this store keeps
what the channel saw, including what people wrote while they held a conversation. Methods are
synchronous and thread-safe; the server calls them from worker threads.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import (
    JSON,
    DateTime,
    Integer,
    String,
    Text,
    UniqueConstraint,
    case,
    create_engine,
    delete,
    event,
    func,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from kefu.migrations import upgrade

Status = Literal["bot", "queued", "held"]
ClaimState = Literal["new", "done", "running", "mismatch"]
_SESSION_LOCKS = 0x6B6566  # advisory lock namespace: one turn of a session at a time, across replicas
_NO_LOCK = object()
Author = Literal["customer", "assistant", "operator", "system"]


def _now() -> datetime:
    return datetime.now(UTC)


class _Base(DeclarativeBase):
    pass


class ConversationRow(_Base):
    __tablename__ = "kefu_conversations"

    session_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="bot", index=True)
    """bot: the assistant answers; queued: waiting for a person; held: a person answers."""
    channel: Mapped[str] = mapped_column(String(16), default="api")
    customer_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    customer_via: Mapped[str | None] = mapped_column(String(16), nullable=True)
    """How the customer is known: 'conversation' (the assistant authenticated them) or 'token'."""
    operator: Mapped[str | None] = mapped_column(String(100), nullable=True)
    handoff_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    escalated: Mapped[int] = mapped_column(Integer, default=0)
    """Times this conversation was handed to a person."""
    turns: Mapped[int] = mapped_column(Integer, default=0)
    last_text: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, index=True)
    queued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class MessageRow(_Base):
    __tablename__ = "kefu_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(String(128), index=True)
    author: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    operator: Mapped[str | None] = mapped_column(String(100), nullable=True)
    intent: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """For assistant replies: tool_calls, sources, recommendations, safety, handoff, timings."""
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class RatingRow(_Base):
    __tablename__ = "kefu_ratings"

    message_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(String(128), index=True)
    score: Mapped[int] = mapped_column(Integer)
    """+1 (thumbs up) or -1 (thumbs down)."""
    comment: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class SuggestionRow(_Base):
    __tablename__ = "kefu_suggestions"
    __table_args__ = (UniqueConstraint("session_id", "product_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(String(128), index=True)
    product_id: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[int] = mapped_column(Integer)
    shown_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    accepted_via: Mapped[str | None] = mapped_column(String(16), nullable=True)
    """'click' (the card in the widget) or 'asked' (the customer asked the assistant about it)."""


class IdempotencyRow(_Base):
    """A request made with an `Idempotency-Key`: claimed when its turn starts, its response kept once done."""

    __tablename__ = "kefu_idempotency"

    scope: Mapped[str] = mapped_column(String(200), primary_key=True)
    """The caller's key fingerprint and the session: a key is only ever looked up for the same pair."""
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the request body: the same key with another body is refused, not replayed."""
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    """None while the first request runs."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, index=True)


def _engine(url: str) -> Any:
    sqlite = url.startswith("sqlite")
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    if sqlite:
        engine = create_engine(url, connect_args={"check_same_thread": False})
    else:  # room for the session locks held through turns (max_concurrent_turns × 2) and the I/O threads
        engine = create_engine(url, pool_size=16, max_overflow=32, pool_pre_ping=True)
    if sqlite:

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=10000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

    return engine


def _iso(at: datetime | None) -> str | None:
    """UTC, always with its offset (SQLite gives naive datetimes back)."""
    if at is None:
        return None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).isoformat()


def _conversation(c: ConversationRow) -> dict[str, Any]:
    return {
        "session_id": c.session_id,
        "status": c.status,
        "channel": c.channel,
        "customer_id": c.customer_id,
        "customer_via": c.customer_via,
        "operator": c.operator,
        "handoff_reason": c.handoff_reason,
        "escalated": c.escalated > 0,
        "turns": c.turns,
        "last_text": c.last_text,
        "created_at": _iso(c.created_at),
        "updated_at": _iso(c.updated_at),
        "queued_at": _iso(c.queued_at),
    }


def _message(m: MessageRow, rating: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": m.id,
        "session_id": m.session_id,
        "author": m.author,
        "text": m.text,
        "at": _iso(m.at),
    }
    if m.operator:
        out["operator"] = m.operator
    if m.intent:
        out["intent"] = m.intent
    if m.author == "assistant":
        out.update(
            {
                k: m.details.get(k, [] if k != "timings" else {})
                for k in ("tool_calls", "sources", "recommendations", "safety", "timings")
            }
        )
        out["handoff"] = bool(m.details.get("handoff"))
        out["rating"] = rating
    return out


def default_store_url(config: Any) -> str:
    """Where the console store lives when `store_url` is not set: the shop's database when that is not
    SQLite (replicas must share it), else DATA_DIR/console.sqlite beside the shop."""
    shop = str(config.shop_url)
    if not shop.startswith("sqlite"):
        return shop
    return f"sqlite:///{config.data_dir / 'console.sqlite'}"


class ConsoleStore:
    def __init__(self, url: str) -> None:
        self.engine = _engine(url)
        upgrade(self.engine, "console")  # creates, adopts or upgrades the tables in place
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    def ping(self) -> None:
        with self._sessions() as s:
            s.execute(select(1))

    # ---- conversations ---------------------------------------------------------------------------
    def get(self, session_id: str) -> dict[str, Any] | None:
        with self._sessions() as s:
            c = s.get(ConversationRow, session_id)
            return _conversation(c) if c else None

    def ensure(self, session_id: str, channel: str) -> dict[str, Any]:
        """The conversation, created on first use."""
        found = self.get(session_id)
        if found is not None:
            return found
        try:
            with self._sessions.begin() as s:
                s.add(ConversationRow(session_id=session_id, channel=channel))
        except IntegrityError:  # created by a concurrent request
            pass
        found = self.get(session_id)
        assert found is not None
        return found

    def bind_customer(self, session_id: str, customer_id: str, via: str) -> None:
        with self._sessions.begin() as s:
            s.execute(
                update(ConversationRow)
                .where(ConversationRow.session_id == session_id, ConversationRow.customer_id.is_(None))
                .values(customer_id=customer_id, customer_via=via)
            )

    def move(
        self,
        session_id: str,
        to: Status,
        *,
        when: tuple[Status, ...],
        operator: str | None = None,
        reason: str | None = None,
    ) -> bool:
        """Change the status only if it is one of `when` (atomic: two operators can't both take one)."""
        values: dict[str, Any] = {"status": to, "updated_at": _now(), "operator": operator}
        if to in ("queued", "held"):
            # leaving the assistant counts as an escalation, and starts the person's part of the transcript
            from_bot = ConversationRow.status == "bot"
            values["escalated"] = ConversationRow.escalated + case((from_bot, 1), else_=0)
            values["queued_at"] = case((from_bot, _now()), else_=ConversationRow.queued_at)
        if reason is not None:
            values["handoff_reason"] = reason[:500]
        with self._sessions.begin() as s:
            done = s.execute(
                update(ConversationRow)
                .where(ConversationRow.session_id == session_id, ConversationRow.status.in_(when))
                .values(**values)
            )
            return bool(done.rowcount)  # type: ignore[attr-defined]

    def conversations(
        self, statuses: tuple[str, ...] | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        q = select(ConversationRow).order_by(ConversationRow.updated_at.desc()).limit(limit)
        if statuses:
            q = q.where(ConversationRow.status.in_(statuses))
        with self._sessions() as s:
            return [_conversation(c) for c in s.scalars(q)]

    # ---- the transcript --------------------------------------------------------------------------
    def add_message(
        self,
        session_id: str,
        author: Author,
        text: str,
        *,
        operator: str | None = None,
        intent: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        with self._sessions.begin() as s:
            m = MessageRow(
                session_id=session_id,
                author=author,
                text=text,
                operator=operator,
                intent=intent,
                details=details or {},
            )
            s.add(m)
            values: dict[str, Any] = {"updated_at": _now(), "last_text": text[:200]}
            if author == "customer":
                values["turns"] = ConversationRow.turns + 1
            s.execute(
                update(ConversationRow).where(ConversationRow.session_id == session_id).values(**values)
            )
            s.flush()
            return _message(m)

    def record_turn(
        self,
        session_id: str,
        *,
        said: str,
        intent: str | None,
        answer: str,
        details: dict[str, Any],
        customer_id: str | None,
        asked_about: list[str],
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """One assistant turn in one transaction: the customer's message and the reply, suggestions
        shown, suggestions taken up (`asked_about`: products the customer asked about), the customer."""
        with self._sessions.begin() as s:
            customer = MessageRow(session_id=session_id, author="customer", text=said, intent=intent)
            reply = MessageRow(session_id=session_id, author="assistant", text=answer, details=details)
            s.add(customer)
            s.flush()
            s.add(reply)
            s.flush()
            known = {
                r.product_id: r
                for r in s.scalars(select(SuggestionRow).where(SuggestionRow.session_id == session_id))
            }
            for pid in asked_about:
                if pid in known and known[pid].accepted_via is None:
                    known[pid].accepted_via = "asked"
            for entry in details.get("recommendations", []):
                pid = str(entry.get("product_id") or "")
                if pid and pid not in known:
                    known[pid] = SuggestionRow(session_id=session_id, product_id=pid, message_id=reply.id)
                    s.add(known[pid])
            values: dict[str, Any] = {
                "updated_at": _now(),
                "last_text": answer[:200],
                "turns": ConversationRow.turns + 1,
            }
            s.execute(
                update(ConversationRow).where(ConversationRow.session_id == session_id).values(**values)
            )
            if customer_id:
                s.execute(
                    update(ConversationRow)
                    .where(ConversationRow.session_id == session_id, ConversationRow.customer_id.is_(None))
                    .values(customer_id=customer_id, customer_via="conversation")
                )
            return _message(customer), _message(reply)

    def messages(self, session_id: str, *, after: int = 0, limit: int = 500) -> list[dict[str, Any]]:
        q = (
            select(MessageRow)
            .where(MessageRow.session_id == session_id, MessageRow.id > after)
            .order_by(MessageRow.id)
            .limit(limit)
        )
        with self._sessions() as s:
            rows = list(s.scalars(q))
            ratings = dict(
                s.execute(
                    select(RatingRow.message_id, RatingRow.score).where(RatingRow.session_id == session_id)
                ).all()
            )
            return [_message(m, ratings.get(m.id)) for m in rows]

    def person_part(self, session_id: str) -> list[tuple[str, str]]:
        """What the customer and people said since the conversation last left the assistant."""
        with self._sessions() as s:
            c = s.get(ConversationRow, session_id)
            if c is None:
                return []
            q = select(MessageRow.author, MessageRow.text).where(
                MessageRow.session_id == session_id, MessageRow.author.in_(("customer", "operator"))
            )
            if c.queued_at is not None:
                q = q.where(MessageRow.at >= c.queued_at)
            return [(a, t) for a, t in s.execute(q.order_by(MessageRow.id)).all()]

    def message(self, message_id: int) -> dict[str, Any] | None:
        with self._sessions() as s:
            m = s.get(MessageRow, message_id)
            return _message(m) if m else None

    # ---- ratings and suggestions -----------------------------------------------------------------
    def rate(self, session_id: str, message_id: int, score: int, comment: str | None) -> None:
        with self._sessions.begin() as s:
            r = s.get(RatingRow, message_id)
            if r is None:
                s.add(RatingRow(message_id=message_id, session_id=session_id, score=score, comment=comment))
            else:
                r.score, r.comment, r.at = score, comment, _now()

    def accept_suggestion(self, session_id: str, product_id: str, via: str) -> bool:
        """Mark a suggestion taken up; False if it was never shown in this session."""
        with self._sessions.begin() as s:
            row = s.scalars(
                select(SuggestionRow).where(
                    SuggestionRow.session_id == session_id, SuggestionRow.product_id == product_id
                )
            ).first()
            if row is None:
                return False
            if row.accepted_via is None:
                row.accepted_via = via
            return True

    # ---- one turn per session across replicas -------------------------------------------------------
    def try_hold_session(self, session_id: str) -> Any:
        """On PostgreSQL, take the session's advisory lock without waiting: the connection holding it
        (release with `release_session`), or None when another replica holds it. Elsewhere (SQLite:
        one machine, and the server's own per-session lock) a no-op holder."""
        if self.engine.dialect.name != "postgresql":
            return _NO_LOCK
        conn = self.engine.connect()
        try:
            got = conn.execute(
                text("SELECT pg_try_advisory_lock(:ns, hashtext(:sid))"),
                {"ns": _SESSION_LOCKS, "sid": session_id},
            ).scalar()
            conn.commit()
        except BaseException:
            conn.close()
            raise
        if got:
            return conn
        conn.close()
        return None

    def release_session(self, holder: Any, session_id: str) -> None:
        if holder is _NO_LOCK:
            return
        try:
            holder.execute(
                text("SELECT pg_advisory_unlock(:ns, hashtext(:sid))"),
                {"ns": _SESSION_LOCKS, "sid": session_id},
            )
            holder.commit()
        finally:
            holder.close()

    # ---- idempotency keys --------------------------------------------------------------------------
    def claim_request(
        self, scope: str, key: str, fingerprint: str, *, stale_after_s: float
    ) -> tuple[ClaimState, dict[str, Any] | None]:
        """Claim (scope, key) for a request about to run, atomically across replicas (primary key).

        ('new', None): this request runs. ('done', response): it ran; replay `response`. ('running', None):
        another request holds the key. ('mismatch', None): the key was used with another body. A claim
        older than `stale_after_s` with no response (its replica died mid-turn) is taken over."""
        try:
            with self._sessions.begin() as s:
                s.add(IdempotencyRow(scope=scope, key=key, fingerprint=fingerprint))
            return "new", None
        except IntegrityError:
            pass
        with self._sessions.begin() as s:
            row = s.get(IdempotencyRow, (scope, key))
            if row is None:  # forgotten in between (the first attempt failed): run again
                s.add(IdempotencyRow(scope=scope, key=key, fingerprint=fingerprint))
                return "new", None
            if row.fingerprint != fingerprint:
                return "mismatch", None
            if row.response is not None:
                return "done", row.response
            at = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
            if (_now() - at).total_seconds() > stale_after_s:
                taken = s.execute(
                    update(IdempotencyRow)
                    .where(
                        IdempotencyRow.scope == scope,
                        IdempotencyRow.key == key,
                        IdempotencyRow.response.is_(None),
                        IdempotencyRow.created_at == row.created_at,
                    )
                    .values(created_at=_now())
                )
                if taken.rowcount:  # type: ignore[attr-defined]
                    return "new", None
            return "running", None

    def finish_request(self, scope: str, key: str, status_code: int, response: dict[str, Any]) -> None:
        with self._sessions.begin() as s:
            s.execute(
                update(IdempotencyRow)
                .where(IdempotencyRow.scope == scope, IdempotencyRow.key == key)
                .values(status_code=status_code, response=response)
            )

    def forget_request(self, scope: str, key: str) -> None:
        """Drop a claim whose request failed before it changed anything, so a retry runs again."""
        with self._sessions.begin() as s:
            s.execute(
                delete(IdempotencyRow).where(
                    IdempotencyRow.scope == scope,
                    IdempotencyRow.key == key,
                    IdempotencyRow.response.is_(None),
                )
            )

    def purge_requests(self, older_than_s: float) -> int:
        """Forget idempotency keys older than `older_than_s` (a client retries within minutes, not days)."""
        cutoff = datetime.fromtimestamp(_now().timestamp() - older_than_s, UTC)
        with self._sessions.begin() as s:
            gone = s.execute(delete(IdempotencyRow).where(IdempotencyRow.created_at < cutoff))
            return int(gone.rowcount)  # type: ignore[attr-defined]

    # ---- analytics -------------------------------------------------------------------------------
    def analytics(self) -> dict[str, Any]:
        with self._sessions() as s:
            conversations = s.scalar(select(func.count()).select_from(ConversationRow)) or 0
            escalated = (
                s.scalar(
                    select(func.count()).select_from(ConversationRow).where(ConversationRow.escalated > 0)
                )
                or 0
            )
            by_status = dict(
                s.execute(select(ConversationRow.status, func.count()).group_by(ConversationRow.status)).all()
            )
            by_author = dict(
                s.execute(select(MessageRow.author, func.count()).group_by(MessageRow.author)).all()
            )
            by_intent = dict(
                s.execute(
                    select(MessageRow.intent, func.count())
                    .where(MessageRow.author == "customer", MessageRow.intent.is_not(None))
                    .group_by(MessageRow.intent)
                ).all()
            )
            shown = s.scalar(select(func.count()).select_from(SuggestionRow)) or 0
            accepted = dict(
                s.execute(
                    select(SuggestionRow.accepted_via, func.count())
                    .where(SuggestionRow.accepted_via.is_not(None))
                    .group_by(SuggestionRow.accepted_via)
                ).all()
            )
            ratings = dict(s.execute(select(RatingRow.score, func.count()).group_by(RatingRow.score)).all())
            moods = s.execute(
                select(MessageRow.at, MessageRow.details).where(MessageRow.author == "assistant")
            ).all()
        up, down = ratings.get(1, 0), ratings.get(-1, 0)
        taken = sum(accepted.values())
        return {
            "conversations": conversations,
            "by_status": {k: by_status.get(k, 0) for k in ("bot", "queued", "held")},
            "messages": {k: by_author.get(k, 0) for k in ("customer", "assistant", "operator", "system")},
            "by_intent": dict(sorted(by_intent.items(), key=lambda kv: (-kv[1], kv[0]))),
            "escalation": {
                "escalated": escalated,
                "rate": round(escalated / conversations, 4) if conversations else 0.0,
            },
            "recommendations": {
                "shown": shown,
                "accepted": taken,
                "accepted_by": accepted,
                "acceptance_rate": round(taken / shown, 4) if shown else 0.0,
            },
            "ratings": {
                "up": up,
                "down": down,
                "satisfaction": round(up / (up + down), 4) if up + down else None,
            },
            "sentiment": _sentiment_by_day(moods),
        }


def _sentiment_by_day(rows: Any) -> dict[str, Any]:
    """Each assistant turn's reading of the customer's message (Reply.sentiment), grouped by day."""
    days: dict[str, list[dict[str, Any]]] = {}
    for at, details in rows:
        mood = (details or {}).get("sentiment") or {}
        if "score" in mood and at is not None:
            days.setdefault(at.date().isoformat(), []).append(mood)
    by_day = [
        {
            "day": day,
            "turns": len(ms),
            "mean_score": round(sum(float(m["score"]) for m in ms) / len(ms), 4),
            "negative": round(sum(m.get("label") == "negative" for m in ms) / len(ms), 4),
        }
        for day, ms in sorted(days.items())
    ]
    turns = sum(d["turns"] for d in by_day)
    return {
        "turns": turns,
        "negative": round(sum(d["negative"] * d["turns"] for d in by_day) / turns, 4) if turns else None,
        "by_day": by_day[-30:],
    }
