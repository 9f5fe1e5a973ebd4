"""`Assistant`: the facade that wires a shop, tools, a brain and sessions, and runs one turn."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool
from sqlalchemy import create_engine, event, inspect

from kefu.agents import EmbeddedBrain, build_agent, is_explicit_yes, open_checkpointer, read_sentiment
from kefu.agents.graph import RULES
from kefu.config import Config
from kefu.errors import ConfigError
from kefu.event_log import EventLog
from kefu.message_checks import PROBLEM_REPLIES, check_message
from kefu.migrations import upgrade as upgrade_schema
from kefu.reply import Reply, ToolCallRecord
from kefu.safety.verdicts import GroundingResult
from kefu.timing import TurnTimer
from kefu.tools import SHOP_TOOLS, Deps, KefuTool, OrderStore, load_plugins, load_shop
from kefu.tools.plugins import ToolSpec
from kefu.tools.recommend import ShopRecommender, recommend_products
from kefu.tools.search_knowledge import LazyKnowledge, search_knowledge
from kefu.turn_events import record_turn_events
from kefu.turn_intent import BRAIN_MEMORY_KEY, turn_intent
from kefu.turn_safety import customer_facts, safety_events, staged, tool_verdicts

if TYPE_CHECKING:
    from kefu.safety import InputResult, SafetyLayer

log = logging.getLogger("kefu")

HANDED_BACK_NOTE = "You're back with the assistant. Is there anything else I can help you with?"
FAILURE_REPLY = (
    "Sorry, something went wrong on my side and I couldn't finish that. Nothing was changed. "
    "Would you like me to connect you with a person?"
)


def _engine(url: str) -> Any:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False} if url.startswith("sqlite") else {})
    if url.startswith("sqlite"):

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            # WAL with synchronous=NORMAL: each commit survives a crash of the process; only a power
            # cut may lose the last transactions, never corrupt the file. Saves an fsync per write.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=5000")
            cur.close()

    return engine


class Assistant:
    """A customer-service assistant over one shop.

    >>> bot = Assistant.demo(data_dir=tmp)            # doctest: +SKIP
    >>> bot.respond("where is my order?", session_id="s1").text   # doctest: +SKIP
    """

    def __init__(
        self,
        config: Config | None = None,
        *,
        chat_model: BaseChatModel | None = None,
        tools: Sequence[BaseTool | KefuTool] = (),
        demo_knowledge: bool = False,
        safety: SafetyLayer | None = None,
    ) -> None:
        self.config = config or Config()
        self.engine = _engine(self.config.shop_url)
        if not inspect(self.engine).has_table("customers"):
            raise ConfigError(
                f"no shop at {self.config.shop_url}: run `kefu shop init` (or use Assistant.demo())"
            )
        upgrade_schema(self.engine, "shop")  # a database made by an older kefu upgrades in place
        self.store = OrderStore(self.engine)
        extra: list[BaseTool | KefuTool] = [*load_plugins(self.config.tools.plugins), *tools]
        self.plugin_specs: list[ToolSpec] = [t.spec for t in extra if isinstance(t, KefuTool)]
        self.events = EventLog(self.engine)
        self.recommender = (
            ShopRecommender(
                self.store,
                self.events,
                exclude_categories=self.config.recsys.exclude_categories,
                redis_url=self.config.recsys.redis_url,
            )
            if self.config.recsys.enabled
            else None
        )
        self.knowledge = (
            LazyKnowledge(
                self.config.knowledge_location,
                demo=demo_knowledge,
                encoder=self.config.knowledge.encoder,
            )
            if self.config.knowledge.enabled
            else None
        )
        builtin = [
            *SHOP_TOOLS,
            *([recommend_products] if self.recommender is not None else []),
            *([search_knowledge] if self.knowledge is not None else []),
        ]
        lc_tools = [*builtin, *(t.as_langchain() if isinstance(t, KefuTool) else t for t in extra)]
        names = [t.name for t in lc_tools]
        if len(set(names)) != len(names):
            dupes = sorted({n for n in names if names.count(n) > 1})
            raise ConfigError(f"two tools share a name: {', '.join(dupes)}")
        self.chat_model = chat_model or self._brain()
        self.safety = safety if safety is not None else self._safety_layer()
        self.writer = _writer(self.config)
        """Rewrites the brain's template replies (config `generator`); None keeps the template."""
        """Input, tool-output and reply checks; None when `config.safety.enabled` is false."""
        self._checkpointer = open_checkpointer(self.config.sessions_url)
        self.agent = build_agent(
            self.chat_model,
            lc_tools,
            self._checkpointer,
            middleware=[_safety_middleware(self.safety)] if self.safety is not None else [],
        )
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    # ---- construction ---------------------------------------------------------------------------
    @classmethod
    def demo(cls, data_dir: str | Path | None = None, **kwargs: Any) -> Assistant:
        """The demo shop on embedded defaults; an empty or new `data_dir` gets a fresh demo shop."""
        config = Config(data_dir=Path(data_dir)) if data_dir is not None else Config()
        ensure_demo_shop(config)
        kwargs.setdefault("demo_knowledge", True)
        return cls(config, **kwargs)

    @classmethod
    def from_config(cls, source: str | Path | dict[str, Any], **kwargs: Any) -> Assistant:
        return cls(Config.load(source), **kwargs)

    def _brain(self) -> BaseChatModel:
        brain = self.config.brain
        if brain.kind == "embedded":
            return EmbeddedBrain(plugins=self.plugin_specs)
        try:
            from langchain_openai import ChatOpenAI
        except ImportError as e:
            raise ConfigError("brain.kind 'openai' needs the extra: pip install 'kefu[openai]'") from e
        if not brain.model or not brain.base_url:
            raise ConfigError("brain.kind 'openai' needs brain.model and brain.base_url")
        import os

        return ChatOpenAI(
            model=brain.model,
            base_url=brain.base_url,
            temperature=brain.temperature,
            api_key=os.environ.get(brain.api_key_env, "not-needed"),  # type: ignore[arg-type]
            timeout=brain.timeout_s,
        )

    def _safety_layer(self) -> SafetyLayer | None:
        if not self.config.safety.enabled:
            return None
        from kefu.safety import SafetyLayer  # guardrails-ai takes seconds to import: only when used

        return SafetyLayer(self.config.safety)

    # ---- one turn -------------------------------------------------------------------------------
    def respond(self, text: str, session_id: str = "default") -> Reply:
        """Answer one customer message in a session. Raises `InvalidMessage` only for non-text input."""
        started = time.perf_counter()
        checked = check_message(text, max_chars=self.config.limits.max_message_chars)
        if checked.problem:
            msg = PROBLEM_REPLIES[checked.problem].format(max_chars=self.config.limits.max_message_chars)
            return Reply(text=msg, session_id=session_id, timings={"total": _ms(started)})
        with self._session_lock(session_id):
            if self.safety is None:
                return self._turn(checked.text, session_id, started)
            screened = self.safety.check_input(checked.text)
            if screened.blocked:
                return self._blocked(checked.text, screened, session_id, started)
            reply = self._turn(screened.text, session_id, started, screened)
            return reply

    async def arespond(self, text: str, session_id: str = "default") -> Reply:
        """`respond` off the event loop (model and database work run in a worker thread)."""
        return await asyncio.to_thread(self.respond, text, session_id)

    def _turn(self, text: str, session_id: str, started: float, screened: InputResult | None = None) -> Reply:
        cfg: dict[str, Any] = {
            "configurable": {"thread_id": session_id},
            "recursion_limit": self.config.limits.max_steps_per_turn,
        }
        state = self.agent.get_state(cfg).values or {}
        before = len(state.get("messages", []))
        pending = state.get("pending_action")
        # The confirmation is decided here, in code, before any model reads the message.
        confirmed = pending if pending and is_explicit_yes(text) else None
        update = {
            "messages": [HumanMessage(text)],
            "confirmed_action": confirmed,
            "pending_action": pending if confirmed else None,
        }
        deps = Deps(
            store=self.store,
            session_id=session_id,
            extras={"recommender": self.recommender, "knowledge": self.knowledge},
        )
        timer = TurnTimer()
        cfg["callbacks"] = [timer]
        mood = read_sentiment(text).as_dict()  # the embedded brain reads the same (cached) result
        try:
            result = self.agent.invoke(update, cfg, context=deps)
        except Exception:
            log.exception("turn failed in session %s", session_id)
            return Reply(
                text=FAILURE_REPLY,
                session_id=session_id,
                handoff=False,
                timings={"total": _ms(started)},
                customer_id=state.get("customer_id"),
            )
        messages: list[BaseMessage] = result["messages"][before + 1 :]
        final = next((m for m in reversed(messages) if isinstance(m, AIMessage) and not m.tool_calls), None)
        records = _tool_records(messages)
        reply_text = _text(final) if final is not None else FAILURE_REPLY
        generation: dict[str, Any] = {}
        if self.writer is not None and final is not None:  # the model rewrites the template from the plan
            reply_text, generation = self.writer.rewrite(
                reply_text, customer=text, tool_calls=records, sources=_sources(records, reply_text)
            )
        verdicts: list[dict[str, Any]] = []
        if self.safety is not None:
            reply_text, verdicts = self._check_reply(reply_text, result, messages, screened, generation)
            self.events.append(
                safety_events(verdicts, session_id=session_id, customer_id=result.get("customer_id"))
            )
        self.events.append(
            [
                {
                    "kind": "sentiment",
                    "session_id": session_id,
                    "customer_id": result.get("customer_id"),
                    "weight": mood["score"],
                    "payload": mood,
                }
            ]
        )
        recommendations = record_turn_events(
            self.events,
            records,
            session_id=session_id,
            customer_id=result.get("customer_id"),
            recommender=self.recommender,
        )
        return Reply(
            text=reply_text,
            session_id=session_id,
            tool_calls=records,
            recommendations=recommendations,
            sources=_sources(records, reply_text),
            safety=verdicts,
            generation=generation,
            intent=turn_intent(records, final),
            sentiment=mood,
            handoff=bool(result.get("handoff")),
            timings={
                "total": _ms(started),
                "model": round(timer.model_s * 1000, 2),
                "tools": round(timer.tools_s * 1000, 2),
            },
            customer_id=result.get("customer_id"),
        )

    def _check_reply(
        self,
        text: str,
        result: dict[str, Any],
        messages: list[BaseMessage],
        screened: InputResult | None,
        generation: dict[str, Any],
    ) -> tuple[str, list[dict[str, Any]]]:
        """The reply as the customer may see it, and every verdict of the turn (input, tools, reply)."""
        assert self.safety is not None
        facts = customer_facts(self.store, result.get("customer_id"), result["messages"])
        grounding = None
        if generation.get("mode") in ("generated", "regenerated", "fallback"):
            # the writer only sends a reply whose every fact is in the plan, else the template
            grounding = GroundingResult(grounded=True)
        checked = self.safety.check_reply(text, customer=facts, protected_texts=[RULES], grounding=grounding)
        text = checked.text
        calm = screened is not None and screened.deescalate and checked.action in ("pass", "log", "fix")
        if calm and not text.lower().startswith(("sorry", "i'm sorry", "i am sorry", "i apologi")):
            text = f"I'm sorry this has been frustrating. {text}"
        verdicts = [
            *staged("input", screened.safety if screened is not None else []),
            *tool_verdicts(messages),
            *staged("reply", checked.safety),
        ]
        return text, verdicts

    def _blocked(self, text: str, screened: InputResult, session_id: str, started: float) -> Reply:
        """Answer a message the input check refused or escalated, without the brain ever reading it.

        The session keeps a note of it: the refused text itself is withheld (an attack stays out of the
        context a model brain reads later), an escalated one is kept for the person who takes over.
        """
        assert screened.message is not None
        escalate = screened.action == "escalate"
        tripped = ", ".join(v.check for v in screened.verdicts if v.tripped)
        kept = text if escalate else f"[message withheld by the safety layer: {tripped}]"
        cfg: dict[str, Any] = {"configurable": {"thread_id": session_id}}
        verdicts = staged("input", screened.safety)
        customer_id = None
        try:
            values = self.agent.get_state(cfg).values or {}
            customer_id = values.get("customer_id")
            update: dict[str, Any] = {
                "messages": [HumanMessage(kept), AIMessage(screened.message, name="safety")],
                "pending_action": None,
                "confirmed_action": None,
            }
            if escalate:
                update["handoff"] = True
            if values:
                self.agent.update_state(cfg, update, as_node="model")
            else:
                self.agent.update_state(cfg, update)
            self.events.append(safety_events(verdicts, session_id=session_id, customer_id=customer_id))
        except Exception:  # the refusal still reaches the customer
            log.exception("could not record a blocked message in session %s", session_id)
        return Reply(
            text=screened.message,
            session_id=session_id,
            safety=verdicts,
            handoff=escalate,
            timings={"total": _ms(started)},
            customer_id=customer_id,
        )

    def _session_lock(self, session_id: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(session_id, threading.Lock())

    # ---- hooks for the host application -----------------------------------------------------------
    def authenticate(self, session_id: str, customer_id: str) -> None:
        """Record a customer the host application has signed in, as if the assistant had authenticated them.

        Raises `NotFound` when the shop has no such customer and `ValueError` when the session already
        belongs to another customer (start a new session instead).
        """
        with self._session_lock(session_id):
            cfg: dict[str, Any] = {"configurable": {"thread_id": session_id}}
            values = self.agent.get_state(cfg).values or {}
            current = values.get("customer_id")
            if current == customer_id:
                return
            if current is not None:
                raise ValueError("this conversation is already authenticated as another customer")
            details = self.store.customer_details(customer_id)  # NotFound for an unknown id
            call_id = f"kefu_preauth_{session_id[:40]}"
            # The same two messages an authentication by email leaves behind, so any brain (ours reads tool
            # results, an LLM reads the transcript) knows who it is talking to; the state fact is what the
            # tools trust.
            messages = [
                AIMessage(
                    content="",
                    tool_calls=[
                        {"name": "find_user_id_by_email", "args": {"email": details["email"]}, "id": call_id}
                    ],
                ),
                ToolMessage(customer_id, tool_call_id=call_id, name="find_user_id_by_email"),
            ]
            update = {"messages": messages, "customer_id": customer_id}
            if values:
                self.agent.update_state(cfg, update, as_node="tools")
            else:
                self.agent.update_state(cfg, update)

    def hand_back(self, session_id: str, *, transcript: Sequence[tuple[str, str]] = ()) -> str:
        """A person gives the conversation back to the assistant.

        `transcript` is what the customer ("user") and the person ("operator") said meanwhile; it joins the
        session so the assistant (and an LLM brain) knows what happened. Any task half-done before the
        hand-off is dropped and no confirmation stays pending. Returns the note the customer sees.
        """
        with self._session_lock(session_id):
            cfg: dict[str, Any] = {"configurable": {"thread_id": session_id}}
            values = self.agent.get_state(cfg).values or {}
            if not values.get("messages"):
                return HANDED_BACK_NOTE
            messages: list[BaseMessage] = [
                HumanMessage(text) if who == "user" else AIMessage(text, name="operator")
                for who, text in transcript
            ]
            memory = next(
                (
                    dict(m.additional_kwargs[BRAIN_MEMORY_KEY])
                    for m in reversed(values["messages"])
                    if isinstance(m, AIMessage) and BRAIN_MEMORY_KEY in m.additional_kwargs
                ),
                None,
            )
            kwargs: dict[str, Any] = {}
            if memory is not None:  # the embedded brain: no longer handed off, nothing half-done
                memory.update(
                    handed_off=False, task=None, queue=[], asked=None, awaiting_yes=False, pending=None
                )
                kwargs["additional_kwargs"] = {BRAIN_MEMORY_KEY: json.loads(json.dumps(memory))}
            messages.append(AIMessage(HANDED_BACK_NOTE, **kwargs))
            self.agent.update_state(
                cfg,
                {"messages": messages, "handoff": False, "pending_action": None, "confirmed_action": None},
                as_node="model",
            )
            return HANDED_BACK_NOTE

    # ---- inspection -----------------------------------------------------------------------------
    def history(self, session_id: str) -> list[dict[str, Any]]:
        """The session's messages as plain dicts (role, content, and tool calls where any)."""
        state = self.agent.get_state({"configurable": {"thread_id": session_id}}).values or {}
        out = []
        for m in state.get("messages", []):
            if isinstance(m, HumanMessage):
                out.append({"role": "user", "content": _text(m)})
            elif isinstance(m, AIMessage):
                entry: dict[str, Any] = {"role": "assistant", "content": _text(m)}
                if m.tool_calls:
                    entry["tool_calls"] = [{"name": c["name"], "args": c["args"]} for c in m.tool_calls]
                out.append(entry)
            elif isinstance(m, ToolMessage):
                out.append({"role": "tool", "name": m.name or "", "content": _text(m)})
        return out

    def warm_up(self) -> None:
        """Load now what the first turn would load lazily (the MiniLM encoder, the sentiment and safety
        heads), so the first customer does not wait seconds for it. Servers call this before they report
        ready; the SDK works without it."""
        read_sentiment("hello, where is my order?")
        if self.safety is not None:
            self.safety.warm_up()

    def close(self) -> None:
        if self.knowledge is not None:
            self.knowledge.close()
        conn = getattr(self._checkpointer, "conn", None)
        if conn is not None:
            conn.close()
        self.engine.dispose()


def _writer(config: Config) -> Any:
    if config.generator.kind == "template":
        return None
    from kefu.agents.generation import writer_from_config  # torch and the model: only when used

    return writer_from_config(config.generator)


def ensure_demo_shop(config: Config, *, reset: bool = False) -> bool:
    """Build the demo shop at the configured database if it has none (or `reset`). True if it built one."""
    engine = _engine(config.shop_url)
    try:
        if reset or not inspect(engine).has_table("customers"):
            load_shop(engine)
            return True
        return False
    finally:
        engine.dispose()


def _safety_middleware(layer: SafetyLayer) -> Any:
    from kefu.safety import SafetyMiddleware

    return SafetyMiddleware(layer)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def _text(m: BaseMessage) -> str:
    return m.content if isinstance(m.content, str) else str(m.text)


def _sources(records: list[ToolCallRecord], reply: str = "") -> list[dict[str, Any]]:
    """Knowledge passages the turn retrieved: what the answer may cite, the passages the reply quotes
    first (a follow-up can be answered from the second passage found, when the first was the answer the
    customer had just read)."""
    said = " ".join(reply.split())
    found: list[tuple[bool, dict[str, Any]]] = []
    for r in records:
        if r.name == "search_knowledge" and r.result:
            for p in json.loads(r.result).get("passages", []):
                opening = " ".join(str(p.get("text", "")).split())[:40]
                found.append(
                    (
                        bool(opening) and opening in said,
                        {k: p[k] for k in ("source_id", "source", "heading", "snippet", "score")},
                    )
                )
    return [p for quoted, p in found if quoted] + [p for quoted, p in found if not quoted]


def _tool_records(messages: list[BaseMessage]) -> list[ToolCallRecord]:
    results = {m.tool_call_id: m for m in messages if isinstance(m, ToolMessage)}
    records = []
    for m in messages:
        if isinstance(m, AIMessage):
            for c in m.tool_calls:
                tm = results.get(c["id"] or "")
                content = _text(tm) if tm is not None else None
                failed = (
                    content is None
                    or content.startswith("Error:")
                    or (tm is not None and tm.status == "error")
                )
                records.append(
                    ToolCallRecord(
                        name=c["name"],
                        args=dict(c["args"]),
                        result=None if failed else content,
                        error=(content or "no result").removeprefix("Error: ") if failed else None,
                    )
                )
    return records
