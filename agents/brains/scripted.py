"""A chat model that plays a script: given tool calls and replies, in order. For tests of your flows.

Like pydantic-ai's TestModel or openai-agents' scripted model, it is part of the SDK so that users
can test their tools, plugins and policies deterministically, without any model.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import PrivateAttr

ScriptStep = str | dict[str, Any] | AIMessage | Callable[[list[BaseMessage]], AIMessage]
"""A reply text; a tool call {"tool": name, "args": {...}}; an AIMessage; or a function of the messages."""


class ScriptedChatModel(BaseChatModel):
    """Answers each model call with the next step of `script`; raises when the script runs out."""

    script: list[Any]
    _cursor: int = PrivateAttr(default=0)
    _ids: Any = PrivateAttr(default_factory=lambda: itertools.count(1))

    def __init__(self, script: Sequence[ScriptStep], **kwargs: Any) -> None:
        super().__init__(script=list(script), **kwargs)  # type: ignore[call-arg]  # pydantic field

    @property
    def _llm_type(self) -> str:
        return "kefu-scripted"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedChatModel:
        return self

    @property
    def remaining(self) -> int:
        return len(self.script) - self._cursor

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self._cursor >= len(self.script):
            raise RuntimeError("ScriptedChatModel: the script has no more steps")
        step = self.script[self._cursor]
        self._cursor += 1
        if callable(step) and not isinstance(step, AIMessage):
            message = step(messages)
        elif isinstance(step, AIMessage):
            message = step
        elif isinstance(step, dict):
            call_id = f"call_{next(self._ids)}"
            args = step.get("args", {})
            message = AIMessage(
                content="",
                tool_calls=[{"name": step["tool"], "args": json.loads(json.dumps(args)), "id": call_id}],
            )
        else:
            message = AIMessage(content=str(step))
        return ChatResult(generations=[ChatGeneration(message=message)])
