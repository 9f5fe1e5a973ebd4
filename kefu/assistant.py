"""`Assistant`: the facade that wires a shop, tools, a brain and sessions, and runs one turn."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool
from sqlalchemy import create_engine, event, inspect

from kefu.agents import EmbeddedBrain, build_agent, is_explicit_yes, open_checkpointer
from kefu.config import Config
from kefu.errors import ConfigError
from kefu.event_log import EventLog
from kefu.message_checks import PROBLEM_REPLIES, check_message
from kefu.reply import Reply, ToolCallRecord
from kefu.timing import TurnTimer
from kefu.tools import SHOP_TOOLS, Deps, KefuTool, OrderStore, load_plugins, load_shop
from kefu.tools.plugins import ToolSpec
from kefu.tools.recommend import ShopRecommender, recommend_products
from kefu.tools.search_knowledge import LazyKnowledge, search_knowledge
from kefu.turn_events import record_turn_events

log = logging.getLogger("kefu")

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
    ) -> None:
        self.config = config or Config()
        self.engine = _engine(self.config.shop_url)
        if not inspect(self.engine).has_table("customers"):
            raise ConfigError(
                f"no shop at {self.config.shop_url}: run `kefu shop init` (or use Assistant.demo())"
            )
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
            LazyKnowledge(self.config.knowledge_location, demo=demo_knowledge)
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
        self._checkpointer = open_checkpointer(self.config.sessions_url)
        self.agent = build_agent(self.chat_model, lc_tools, self._checkpointer)
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

    # ---- one turn -------------------------------------------------------------------------------
    def respond(self, text: str, session_id: str = "default") -> Reply:
        """Answer one customer message in a session. Raises `InvalidMessage` only for non-text input."""
        started = time.perf_counter()
        checked = check_message(text, max_chars=self.config.limits.max_message_chars)
        if checked.problem:
            msg = PROBLEM_REPLIES[checked.problem].format(max_chars=self.config.limits.max_message_chars)
            return Reply(text=msg, session_id=session_id, timings={"total": _ms(started)})
        with self._session_lock(session_id):
            return self._turn(checked.text, session_id, started)

    async def arespond(self, text: str, session_id: str = "default") -> Reply:
        """`respond` off the event loop (model and database work run in a worker thread)."""
        return await asyncio.to_thread(self.respond, text, session_id)

    def _turn(self, text: str, session_id: str, started: float) -> Reply:
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
        recommendations = record_turn_events(
            self.events,
            records,
            session_id=session_id,
            customer_id=result.get("customer_id"),
            recommender=self.recommender,
        )
        return Reply(
            text=_text(final) if final is not None else FAILURE_REPLY,
            session_id=session_id,
            tool_calls=records,
            recommendations=recommendations,
            sources=_sources(records),
            handoff=bool(result.get("handoff")),
            timings={
                "total": _ms(started),
                "model": round(timer.model_s * 1000, 2),
                "tools": round(timer.tools_s * 1000, 2),
            },
            customer_id=result.get("customer_id"),
        )

    def _session_lock(self, session_id: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(session_id, threading.Lock())

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

    def close(self) -> None:
        if self.knowledge is not None:
            self.knowledge.close()
        conn = getattr(self._checkpointer, "conn", None)
        if conn is not None:
            conn.close()
        self.engine.dispose()


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


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def _text(m: BaseMessage) -> str:
    return m.content if isinstance(m.content, str) else str(m.text)


def _sources(records: list[ToolCallRecord]) -> list[dict[str, Any]]:
    """Knowledge passages the turn retrieved: what the answer may cite."""
    out: list[dict[str, Any]] = []
    for r in records:
        if r.name == "search_knowledge" and r.result:
            for p in json.loads(r.result).get("passages", []):
                out.append({k: p[k] for k in ("source_id", "source", "heading", "snippet", "score")})
    return out


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
