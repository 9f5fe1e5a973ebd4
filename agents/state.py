"""The agent's state: LangGraph's messages plus the session facts that only code may set."""

from __future__ import annotations

from typing import Any, NotRequired

from langchain.agents import AgentState

from kefu.tools.context import PendingAction


class KefuState(AgentState[Any]):
    """Persisted by the checkpointer, so a new process resumes a session where it stopped."""

    customer_id: NotRequired[str | None]
    pending_action: NotRequired[PendingAction | None]
    confirmed_action: NotRequired[PendingAction | None]
    handoff: NotRequired[bool]
    tool_failures: NotRequired[int]
