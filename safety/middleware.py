"""`SafetyMiddleware`: the tool-output check as LangChain agent middleware.

Add it to `create_agent(..., middleware=[...])` and every tool result is scanned before the brain reads
it: flagged sentences in the `ToolMessage` (returned directly or inside a `Command` update) are
neutralised, and the verdicts ride along in `additional_kwargs["kefu_safety"]`, so whoever assembles the
turn's `Reply.safety` can collect them from the messages.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from langchain.agents.middleware import AgentMiddleware, ToolCallRequest
from langchain_core.messages import ToolMessage
from langgraph.types import Command

from kefu.safety.layer import SafetyLayer
from kefu.safety.validators.tool_checks import known_values

SAFETY_KEY = "kefu_safety"
log = logging.getLogger("kefu.safety")


class SafetyMiddleware(AgentMiddleware[Any, Any]):
    """Sanitises every tool result with `SafetyLayer.check_tool_output`."""

    def __init__(self, layer: SafetyLayer | None = None) -> None:
        super().__init__()
        self.layer = layer or SafetyLayer()

    def _sanitise_message(
        self,
        message: ToolMessage,
        known: frozenset[str] = frozenset(),
        phrasings: tuple[str, ...] = (),
        data_keys: tuple[str, ...] = (),
        label_keys: tuple[str, ...] = (),
    ) -> ToolMessage:
        try:
            return self._checked(message, known, phrasings, data_keys, label_keys)
        except Exception:  # fail closed: the brain reads a marker instead of text nobody checked
            log.exception("safety check of %s output failed", message.name)
            withheld = (
                f"[kefu: the output of {message.name or 'a tool'} was withheld: it could not be checked]"
            )
            verdict = {"check": "injection", "score": 1.0, "tripped": True, "action": "refuse"}
            kwargs = {**message.additional_kwargs, SAFETY_KEY: [{**verdict, "detail": "check failed"}]}
            return message.model_copy(update={"content": withheld, "additional_kwargs": kwargs})

    def _checked(
        self,
        message: ToolMessage,
        known: frozenset[str],
        phrasings: tuple[str, ...],
        data_keys: tuple[str, ...],
        label_keys: tuple[str, ...],
    ) -> ToolMessage:
        name = message.name or "tool"
        content = message.content
        verdicts: list[dict[str, Any]] = []
        if isinstance(content, str):
            result = self.layer.check_tool_output(
                name, content, known=known, phrasings=phrasings, data_keys=data_keys, label_keys=label_keys
            )
            new_content: Any = result.text
            verdicts = result.safety
        else:  # a list of content blocks: check the text ones
            new_content = []
            for block in content:
                if isinstance(block, str):
                    result = self.layer.check_tool_output(
                        name,
                        block,
                        known=known,
                        phrasings=phrasings,
                        data_keys=data_keys,
                        label_keys=label_keys,
                    )
                    new_content.append(result.text)
                    verdicts += result.safety
                elif (
                    isinstance(block, dict)
                    and block.get("type") == "text"
                    and isinstance(block.get("text"), str)
                ):
                    result = self.layer.check_tool_output(
                        name,
                        block["text"],
                        known=known,
                        phrasings=phrasings,
                        data_keys=data_keys,
                        label_keys=label_keys,
                    )
                    new_content.append({**block, "text": result.text})
                    verdicts += result.safety
                else:
                    new_content.append(block)
        if not verdicts:
            return message
        kwargs = {**message.additional_kwargs, SAFETY_KEY: verdicts}
        return message.model_copy(update={"content": new_content, "additional_kwargs": kwargs})

    def sanitise(
        self,
        result: ToolMessage | Command[Any],
        known: frozenset[str] = frozenset(),
        phrasings: tuple[str, ...] = (),
        data_keys: tuple[str, ...] = (),
        label_keys: tuple[str, ...] = (),
    ) -> ToolMessage | Command[Any]:
        """The tool result with its ToolMessages checked (a Command's update messages included).

        `known`: strings that are data by construction (see `known_for`); `phrasings`: the tool's own
        sentence forms (see `phrasings_for`); `data_keys`: JSON keys whose values are data fields (see
        `data_keys_for`); `label_keys`: JSON keys whose values are a document's labels (see
        `label_keys_for`)."""
        if isinstance(result, ToolMessage):
            return self._sanitise_message(result, known, phrasings, data_keys, label_keys)
        if isinstance(result, Command) and isinstance(result.update, dict) and "messages" in result.update:
            messages = [
                self._sanitise_message(m, known, phrasings, data_keys, label_keys)
                if isinstance(m, ToolMessage)
                else m
                for m in result.update["messages"]
            ]
            return Command(
                graph=result.graph,
                update={**result.update, "messages": messages},
                resume=result.resume,
                goto=result.goto,
            )
        return result

    @staticmethod
    def known_for(request: ToolCallRequest) -> frozenset[str]:
        """The call's own argument values and its tool's enumerated values: echoed back, they are data."""
        if request is None:
            return frozenset()
        schema = None
        tool = getattr(request, "tool", None)
        if tool is not None:
            try:
                schema = tool.tool_call_schema.model_json_schema()
            except Exception:  # a tool without a pydantic schema: its arguments still count
                schema = None
        call = getattr(request, "tool_call", None) or {}
        own_name = [call["name"]] if call.get("name") else []  # a result may name its own tool
        return known_values({"args": call.get("args", {}), "tool": own_name}, schema)

    @staticmethod
    def phrasings_for(request: ToolCallRequest) -> tuple[str, ...]:
        """The tool's own sentence forms, declared as `tool.metadata["kefu_phrasings"]` (a list of regular
        expressions whose named groups are data slots, or a function returning one): a result sentence of
        that form is checked on its slots only. kefu's recommendation tool declares its explanations."""
        return _declared(request, "kefu_phrasings")

    @staticmethod
    def data_keys_for(request: ToolCallRequest) -> tuple[str, ...]:
        """JSON keys whose values are the business's own structured data, declared as
        `tool.metadata["kefu_data_keys"]`: passed through unscored. The order tools declare `name` and
        `options` (product names and option values from the shop's catalogue: "built-in grinder" alone,
        scored as a sentence, read as an off-topic task to the injection head)."""
        return _declared(request, "kefu_data_keys")

    @staticmethod
    def label_keys_for(request: ToolCallRequest) -> tuple[str, ...]:
        """JSON keys whose values are a document's own labels, declared as `tool.metadata["kefu_label_keys"]`:
        checked by the injection rules, not the sentence classifier. `search_knowledge` declares its passage
        ids, file names, heading paths and FAQ questions ("Retail agent policy > Cancel pending order"
        read 0.74 as an instruction, and the citation was cut out of the answer)."""
        return _declared(request, "kefu_label_keys")

    def wrap_tool_call(
        self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], ToolMessage | Command[Any]]
    ) -> ToolMessage | Command[Any]:
        return self.sanitise(
            handler(request),
            self.known_for(request),
            self.phrasings_for(request),
            self.data_keys_for(request),
            self.label_keys_for(request),
        )

    async def awrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], Awaitable[ToolMessage | Command[Any]]],
    ) -> ToolMessage | Command[Any]:
        result = await handler(request)
        return await asyncio.to_thread(
            self.sanitise,
            result,
            self.known_for(request),
            self.phrasings_for(request),
            self.data_keys_for(request),
            self.label_keys_for(request),
        )


def _declared(request: ToolCallRequest | None, key: str) -> tuple[str, ...]:
    """What the called tool declares under `tool.metadata[key]`: a list of strings, or a function returning one."""
    tool = getattr(request, "tool", None) if request is not None else None
    declared = (getattr(tool, "metadata", None) or {}).get(key) if tool is not None else None
    if callable(declared):
        declared = declared()
    return tuple(str(v) for v in declared or ())
