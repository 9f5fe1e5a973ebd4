"""A failing tool degrades the reply, never the process.

Middleware around every tool call: an exception or a timeout becomes an error message the brain can
act on (apologise, offer a person), and the session counts it. The shop's writes are transactional,
so a tool that fails midway has written nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from langchain.agents.middleware import AgentMiddleware, ToolCallRequest
from langchain_core.messages import ToolMessage
from langgraph.types import Command

log = logging.getLogger("kefu.tools")

TOOL_FAILED = "Error: TOOL_FAILED: the tool could not complete ({reason}). Nothing was changed."


class ToolFaultMiddleware(AgentMiddleware[Any, Any]):
    """Turns tool exceptions (timeouts included) into error ToolMessages and counts them."""

    def wrap_tool_call(
        self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], ToolMessage | Command[Any]]
    ) -> ToolMessage | Command[Any]:
        try:
            return handler(request)
        except Exception as e:  # the boundary: anything a tool raises stops here
            name = request.tool_call.get("name", "?")
            log.warning("tool %s failed: %s: %s", name, type(e).__name__, e)
            reason = "timed out" if isinstance(e, TimeoutError) else type(e).__name__
            failures = int((request.state or {}).get("tool_failures", 0) or 0) + 1
            msg = ToolMessage(
                TOOL_FAILED.format(reason=reason),
                tool_call_id=request.tool_call["id"] or "",
                name=name,
                status="error",
            )
            return Command(update={"messages": [msg], "tool_failures": failures})
