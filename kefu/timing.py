"""Where a turn's time goes: model calls and tool calls, measured with LangChain callbacks."""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler


class TurnTimer(BaseCallbackHandler):
    """Sums wall time spent inside chat-model calls and tool calls during one turn."""

    def __init__(self) -> None:
        self.model_s = 0.0
        self.tools_s = 0.0
        self._started: dict[UUID, float] = {}

    def on_chat_model_start(self, serialized: Any, messages: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._started[run_id] = time.perf_counter()

    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self.model_s += time.perf_counter() - self._started.pop(run_id, time.perf_counter())

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self.model_s += time.perf_counter() - self._started.pop(run_id, time.perf_counter())

    def on_tool_start(self, serialized: Any, input_str: str, *, run_id: UUID, **kwargs: Any) -> None:
        self._started[run_id] = time.perf_counter()

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self.tools_s += time.perf_counter() - self._started.pop(run_id, time.perf_counter())

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self.tools_s += time.perf_counter() - self._started.pop(run_id, time.perf_counter())
