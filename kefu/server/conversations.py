"""The channel: where a customer's message goes (the assistant or a person), in order, off the loop.

Turns of one session run one after the other, in the order their requests arrived (an asyncio lock per
session, taken before anything else is awaited); turns of different sessions run at the same time on
worker threads (at most `max_concurrent_turns` computing, the rest waiting on the event loop, which
never blocks). Every turn is a task this object owns: a client that goes away does not cancel it, and
shutdown waits for the ones in flight.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from kefu.server import sdk_bridge
from kefu.server.auth import CustomerClaims
from kefu.server.errors import ApiError
from kefu.server.metrics import Metrics
from kefu.server.store import ConsoleStore

log = logging.getLogger("kefu.server")
T = TypeVar("T")

QUEUED_NOTICE = "I've asked a person to join. Someone from our team will answer here shortly."
WITH_PERSON = ("queued", "held")


@dataclass
class Outcome:
    """What one customer message led to."""

    session_id: str
    status: str
    delivered_to: str
    """'assistant' (it answered: `reply`) or 'person' (queued or held: a person will answer)."""
    customer_message: dict[str, Any]
    reply: dict[str, Any] | None = None
    notices: list[dict[str, Any]] = field(default_factory=list)
    customer_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "status": self.status,
            "delivered_to": self.delivered_to,
            "customer_id": self.customer_id,
            "customer_message": self.customer_message,
            "reply": self.reply,
            "notices": self.notices,
        }


@dataclass
class _SessionLock:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


class Conversations:
    def __init__(self, bot: Any, store: ConsoleStore, metrics: Metrics, *, max_concurrent_turns: int) -> None:
        self.bot, self.store, self.metrics = bot, store, metrics
        self._turn_slots = anyio.CapacityLimiter(max_concurrent_turns)
        self._held_slots = anyio.CapacityLimiter(max_concurrent_turns * 2)
        self._io_slots = anyio.CapacityLimiter(max(8, max_concurrent_turns * 2))
        self._locks: dict[str, _SessionLock] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self.accepting = True

    # ---- plumbing --------------------------------------------------------------------------------
    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """A store or bot call on a worker thread."""
        return await anyio.to_thread.run_sync(fn, *args, limiter=self._io_slots)

    def _acquire_slot(self, session_id: str) -> _SessionLock:
        entry = self._locks.setdefault(session_id, _SessionLock())
        entry.users += 1
        return entry

    def _release_slot(self, session_id: str, entry: _SessionLock) -> None:
        entry.users -= 1
        if entry.users == 0 and self._locks.get(session_id) is entry:
            del self._locks[session_id]

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def queued(self, session_id: str) -> int:
        """How many of the session's messages (and take-overs) are running or waiting their turn."""
        entry = self._locks.get(session_id)
        return entry.users if entry is not None else 0

    async def drain(self, timeout_s: float) -> int:
        """Stop taking messages and wait for the turns in flight; returns how many did not finish."""
        self.accepting = False
        pending = set(self._tasks)
        if pending:
            log.info("waiting for %d turn(s) in flight", len(pending))
            _, pending = await asyncio.wait(pending, timeout=timeout_s)
        return len(pending)

    async def locked(self, session_id: str, fn: Callable[..., T], *args: Any) -> T:
        """`fn` on a worker thread, in turn with the session's messages (take-over, hand-back)."""
        entry = self._acquire_slot(session_id)
        try:
            async with entry.lock:
                return await self.run(fn, *args)
        finally:
            self._release_slot(session_id, entry)

    # ---- a customer message ----------------------------------------------------------------------
    async def submit(
        self,
        session_id: str,
        text: str,
        *,
        customer: CustomerClaims | None,
        channel: str,
        widget: bool = False,
    ) -> tuple[asyncio.Future[dict[str, Any]], asyncio.Task[Outcome]]:
        """Queue the message behind the session's earlier ones. The future resolves (or raises the
        ApiError) once the conversation is checked; the task ends with the outcome. `widget`: the
        caller holds a publishable key, which reaches only sessions made with one."""
        if not self.accepting:
            raise ApiError(503, "shutting_down", "The server is shutting down; try again in a moment.")
        loop = asyncio.get_running_loop()
        checked: asyncio.Future[dict[str, Any]] = loop.create_future()
        entry = self._acquire_slot(session_id)
        self.metrics.turns_waiting.inc()

        async def work() -> Outcome:
            try:
                async with entry.lock:
                    self.metrics.turns_waiting.dec()
                    try:
                        conv = await self.run(self.open_session, session_id, customer, channel, widget)
                    except BaseException as e:
                        if not checked.done():
                            checked.set_exception(e)
                        raise
                    if not checked.done():
                        checked.set_result(conv)
                    async with self._held_slots:  # bounds the connections holding session locks
                        holder = await self._hold(session_id)
                        try:
                            # re-read: another replica may have changed it while this one waited
                            latest: dict[str, Any] | None = await self.run(self.store.get, session_id)
                            conv = latest or conv
                            return await self._deliver(session_id, text, conv)
                        finally:
                            await self.run(self.store.release_session, holder, session_id)
            finally:
                self._release_slot(session_id, entry)

        task = asyncio.create_task(work(), name=f"kefu-turn-{session_id}")
        self._tasks.add(task)

        def done(t: asyncio.Task[Outcome]) -> None:
            self._tasks.discard(t)
            if not checked.done():
                checked.set_exception(ApiError(503, "cancelled", "The message was not processed."))
                checked.exception()  # retrieved: no "never retrieved" warning when nobody waits
            if not t.cancelled() and t.exception() is not None and not isinstance(t.exception(), ApiError):
                log.error("turn task failed", exc_info=t.exception())

        task.add_done_callback(done)
        return checked, task

    async def _hold(self, session_id: str) -> Any:
        """The session's turn across replicas (the store's advisory lock on PostgreSQL): a message sent
        to another replica at the same moment waits for this one, as it would on one server."""
        delay = 0.01
        while (holder := await self.run(self.store.try_hold_session, session_id)) is None:
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.2)
        return holder

    def open_session(
        self, session_id: str, customer: CustomerClaims | None, channel: str, widget: bool = False
    ) -> dict[str, Any]:
        """The conversation (created on first use, except through a widget key), with the token's
        customer bound to it."""
        conv = self.require(session_id, widget=True) if widget else self.store.ensure(session_id, channel)
        if customer is not None and conv["customer_id"] != customer.customer_id:
            if conv["customer_id"] is not None:
                raise ApiError(
                    409,
                    "customer_conflict",
                    "This session belongs to another customer; start a new session for this customer.",
                )
            sdk_bridge.authenticate(self.bot, session_id, customer.customer_id)
            self.store.bind_customer(session_id, customer.customer_id, "token")
            conv = self.store.get(session_id) or conv
        return conv

    async def _deliver(self, session_id: str, text: str, conv: dict[str, Any]) -> Outcome:
        if conv["status"] in WITH_PERSON:
            msg = await self.run(self.store.add_message, session_id, "customer", text)
            return Outcome(session_id, conv["status"], "person", msg, customer_id=conv["customer_id"])
        started = time.perf_counter()
        self.metrics.turns_in_flight.inc()
        try:
            reply = await anyio.to_thread.run_sync(
                self.bot.respond, text, session_id, limiter=self._turn_slots
            )
        except Exception:
            self.metrics.turns.labels("failed").inc()
            raise
        finally:
            self.metrics.turns_in_flight.dec()
        self.metrics.turns.labels("ok").inc()
        self.metrics.turn_seconds.observe(time.perf_counter() - started)
        return await self.run(self._record_turn, session_id, text, reply)

    def _record_turn(self, session_id: str, text: str, reply: Any) -> Outcome:
        details = {
            "tool_calls": [
                {"name": c.name, "args": c.args, "result": c.result, "error": c.error}
                for c in reply.tool_calls
            ],
            "sources": list(reply.sources),
            "recommendations": list(reply.recommendations),
            "safety": list(reply.safety),
            "handoff": bool(reply.handoff),
            "timings": dict(reply.timings),
            "sentiment": dict(getattr(reply, "sentiment", {}) or {}),
        }
        asked_about = [
            str(c.args.get("product_id"))
            for c in reply.tool_calls
            if c.name == "get_product_details" and c.error is None and c.args.get("product_id")
        ]
        said, answer = self.store.record_turn(
            session_id,
            said=text,
            intent=sdk_bridge.intent_of(reply),
            answer=reply.text,
            details=json.loads(json.dumps(details, default=str)),  # plain JSON, whatever a tool returned
            customer_id=reply.customer_id,
            asked_about=asked_about,
        )
        answer["customer_id"] = reply.customer_id
        outcome = Outcome(session_id, "bot", "assistant", said, answer, customer_id=reply.customer_id)
        if reply.handoff and self.store.move(
            session_id, "queued", when=("bot",), reason="the assistant handed off"
        ):
            self.metrics.handoffs.labels("assistant").inc()
        # the customer may have asked for a person while this turn ran: report where it stands now
        current = self.store.get(session_id)
        if current is not None:
            outcome.status = current["status"]
        return outcome

    # ---- hand-offs -------------------------------------------------------------------------------
    def request_person(self, session_id: str, reason: str | None, widget: bool = False) -> dict[str, Any]:
        """The customer pressed "talk to a person"."""
        conv = self.require(session_id, widget=widget)
        if conv["status"] in WITH_PERSON:
            return {"conversation": conv, "notice": None}
        notice = None
        if self.store.move(
            session_id, "queued", when=("bot",), reason=reason or "the customer asked for a person"
        ):
            self.metrics.handoffs.labels("customer").inc()
            notice = self.store.add_message(session_id, "system", QUEUED_NOTICE)
        return {"conversation": self.require(session_id), "notice": notice}

    def take(self, session_id: str, operator: str) -> dict[str, Any]:
        conv = self.require(session_id)
        if conv["status"] == "held" and conv["operator"] == operator:
            return conv
        reason = None if conv["status"] == "queued" else f"taken over by {operator}"
        if not self.store.move(session_id, "held", when=("queued", "bot"), operator=operator, reason=reason):
            raise ApiError(
                409,
                "already_taken",
                f"{conv['operator'] or 'Another operator'} already holds this conversation.",
            )
        if conv["status"] == "bot":  # taken over without a hand-off: it counts as one
            self.metrics.handoffs.labels("operator").inc()
        self.store.add_message(session_id, "system", f"{operator} joined the conversation.")
        return self.require(session_id)

    def operator_says(self, session_id: str, operator: str, text: str) -> dict[str, Any]:
        conv = self.require(session_id)
        if conv["status"] != "held" or conv["operator"] != operator:
            holder = f"{conv['operator']} holds it" if conv["status"] == "held" else "nobody holds it"
            raise ApiError(409, "not_holding", f"Take the conversation over before replying ({holder}).")
        self.metrics.operator_messages.inc()
        return self.store.add_message(session_id, "operator", text, operator=operator)

    def release(self, session_id: str, operator: str) -> dict[str, Any]:
        """Hand the conversation back to the assistant, with what was said while a person had it."""
        conv = self.require(session_id)
        if conv["status"] == "held" and conv["operator"] != operator:
            raise ApiError(409, "not_holding", f"{conv['operator']} holds this conversation.")
        if conv["status"] == "bot":
            return {"conversation": conv, "note": None}
        transcript = [
            ("user" if who == "customer" else "operator", text)
            for who, text in self.store.person_part(session_id)
        ]
        text = sdk_bridge.hand_back(self.bot, session_id, transcript)
        self.store.move(session_id, "bot", when=("held", "queued"))
        note = self.store.add_message(session_id, "assistant", text, details={"handed_back_by": operator})
        return {"conversation": self.require(session_id), "note": note}

    def require(self, session_id: str, *, widget: bool = False) -> dict[str, Any]:
        """The conversation, or 404. With `widget`, only sessions a widget key made (`POST /v1/sessions`,
        unguessable ids): a publishable key must not read conversations the shop's back end named."""
        conv = self.store.get(session_id)
        if conv is None or (widget and conv["channel"] != "widget"):
            raise ApiError(404, "unknown_session", f"There is no session {session_id!r}.", param="session_id")
        return conv
