"""Plugin tools: typed Python functions that business teams add without forking kefu.

`@kefu.tool(...)` turns a typed function into a tool: its schema comes from the type hints and the
docstring (validated by pydantic), and a bad definition fails at import time, not at the first
customer. The decorator carries what kefu enforces around the call: scopes (anything but `public`
needs an authenticated customer), whether the call needs the customer's confirmation, a timeout,
and example phrasings so the embedded brain learns when to use it. Tools are discovered through the
entry-point group `kefu.tools` and enabled by name in config.
"""

from __future__ import annotations

import concurrent.futures
import inspect
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, get_type_hints

from langchain.tools import ToolRuntime
from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, ConfigDict, Field, create_model

from kefu.tools.context import ToolContext

ENTRY_POINT_GROUP = "kefu.tools"
_SCOPE = re.compile(r"^(public|[a-z][a-z0-9_]*:(read|write))$")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_pool = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="kefu-tool")


class ToolDefinitionError(TypeError):
    """A plugin tool is defined wrongly; raised when the module defining it is imported."""


@dataclass(frozen=True)
class ToolSpec:
    """What kefu knows about a plugin tool besides its function."""

    name: str
    description: str
    scopes: tuple[str, ...]
    needs_confirmation: bool
    timeout: float | None
    examples: tuple[str, ...]
    """Customer phrasings that should lead to this tool (the embedded brain trains on them)."""
    params: dict[str, str]
    """Parameter name → description, from the docstring's Args section."""


class KefuTool:
    """A plugin tool: the typed function, its spec, and its validated argument model."""

    def __init__(
        self, fn: Callable[..., Any], spec: ToolSpec, args_model: type[BaseModel], ctx_param: str | None
    ):
        self.fn = fn
        self.spec = spec
        self.args_model = args_model
        self._ctx_param = ctx_param

    @property
    def name(self) -> str:
        return self.spec.name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"KefuTool({self.spec.name!r}, scopes={self.spec.scopes})"

    def invoke(self, args: dict[str, Any], ctx: ToolContext) -> Any:
        """Validate `args`, check scopes, and call the function (with its timeout)."""
        if any(s != "public" for s in self.spec.scopes) and ctx.customer_id is None:
            raise PermissionError("the customer is not authenticated")
        values = self.args_model.model_validate(args).model_dump()
        if self._ctx_param:
            values[self._ctx_param] = ctx
        if self.spec.timeout is None:
            return self.fn(**values)
        future = _pool.submit(self.fn, **values)
        try:
            return future.result(timeout=self.spec.timeout)
        except concurrent.futures.TimeoutError as e:
            raise TimeoutError(f"{self.spec.name} took longer than {self.spec.timeout:g} s") from e

    def as_langchain(self) -> BaseTool:
        """The LangChain tool the agent calls; writes go through the same confirmation gate as the shop's."""
        from kefu.tools.orders.shop_tools import NOT_AUTHENTICATED, confirmed_write

        kefu_tool = self

        def run(runtime: ToolRuntime[Any, Any], **kwargs: Any) -> Any:
            ctx = ToolContext(deps=runtime.context, customer_id=runtime.state.get("customer_id"))
            needs_customer = any(s != "public" for s in kefu_tool.spec.scopes)
            if needs_customer and ctx.customer_id is None:
                return NOT_AUTHENTICATED
            if kefu_tool.spec.needs_confirmation:

                def write(dry: bool) -> dict[str, Any]:
                    return {} if dry else {"result": _jsonable(kefu_tool.invoke(kwargs, ctx))}

                return confirmed_write(runtime, kefu_tool.spec.name, kwargs, write)
            return _jsonable(kefu_tool.invoke(kwargs, ctx))

        # The schema LangChain sees: the tool's own fields plus `runtime`, which LangGraph injects and
        # which is left out of what the model is shown.
        fields: dict[str, Any] = {name: (f.annotation, f) for name, f in self.args_model.model_fields.items()}
        fields["runtime"] = (ToolRuntime[Any, Any], None)
        schema = create_model(
            f"{self.spec.name}_input", __config__=ConfigDict(arbitrary_types_allowed=True), **fields
        )
        return StructuredTool(
            name=self.spec.name,
            description=self.spec.description,
            args_schema=schema,
            func=run,
            metadata={"kefu": self.spec},
        )


def _jsonable(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    return json.dumps(value, default=str)


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """Split a Google-style docstring into its description and its Args section."""
    lines = inspect.cleandoc(doc).splitlines()
    description, params, current = [], {}, None
    in_args = False
    for line in lines:
        stripped = line.strip()
        if stripped in ("Args:", "Arguments:", "Parameters:"):
            in_args = True
            continue
        if in_args and stripped.endswith(":") and " " not in stripped:  # next section (Returns:, ...)
            in_args = False
            continue
        if in_args:
            m = re.match(r"^(\w+)\s*(\([^)]*\))?\s*:\s*(.*)$", stripped)
            if m and line.startswith((" ", "\t")) and len(line) - len(line.lstrip()) <= 4:
                current = m.group(1)
                params[current] = m.group(3)
            elif current and stripped:
                params[current] += " " + stripped
        elif not in_args:
            description.append(line)
    return "\n".join(description).strip(), params


def tool(
    name: str | None = None,
    *,
    scopes: Iterable[str] = ("public",),
    needs_confirmation: bool | None = None,
    timeout: float | None = 10.0,
    examples: Iterable[str] = (),
) -> Callable[[Callable[..., Any]], KefuTool]:
    """Make a typed function a kefu tool.

    Args:
        name: The tool name the agent sees (default: the function's name).
        scopes: What the tool touches, e.g. ``("orders:read",)``; anything but ``public`` needs an
            authenticated customer.
        needs_confirmation: Whether the customer must confirm each call first (default: True when a
            scope ends in ``:write``).
        timeout: Seconds before the call is abandoned and the customer gets an apology (None: no limit).
        examples: Customer phrasings that should lead to this tool, for the embedded brain.

    A parameter annotated ``ToolContext`` receives the authenticated customer and the dependencies;
    every other parameter must have a type hint and becomes part of the tool's schema.
    """
    scope_list = tuple(scopes)
    for s in scope_list:
        if not _SCOPE.match(s):
            raise ToolDefinitionError(f"bad scope {s!r}: use 'public' or 'area:read' / 'area:write'")
    if timeout is not None and timeout <= 0:
        raise ToolDefinitionError("timeout must be positive seconds or None")

    def decorate(fn: Callable[..., Any]) -> KefuTool:
        if not inspect.isfunction(fn):
            raise ToolDefinitionError(f"@kefu.tool needs a function, got {type(fn).__name__}")
        tool_name = name or fn.__name__
        if not _NAME.match(tool_name):
            raise ToolDefinitionError(f"tool name {tool_name!r} must be snake_case, at most 64 characters")
        if not fn.__doc__ or not fn.__doc__.strip():
            raise ToolDefinitionError(f"tool {tool_name!r} needs a docstring: the agent reads it to decide")
        description, param_docs = _parse_docstring(fn.__doc__)
        try:
            hints = get_type_hints(fn)
        except Exception as e:  # unresolved forward references and the like
            raise ToolDefinitionError(f"tool {tool_name!r}: cannot resolve type hints: {e}") from e
        if "return" not in hints:
            raise ToolDefinitionError(f"tool {tool_name!r} needs a return type hint")
        fields: dict[str, Any] = {}
        ctx_param = None
        for p in inspect.signature(fn).parameters.values():
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                raise ToolDefinitionError(
                    f"tool {tool_name!r}: *args and **kwargs cannot be described to an agent"
                )
            if p.name not in hints:
                raise ToolDefinitionError(f"tool {tool_name!r}: parameter {p.name!r} needs a type hint")
            if hints[p.name] is ToolContext:
                ctx_param = p.name
                continue
            if p.name == "runtime":
                raise ToolDefinitionError(f"tool {tool_name!r}: the parameter name 'runtime' is reserved")
            default = ... if p.default is inspect.Parameter.empty else p.default
            fields[p.name] = (hints[p.name], Field(default, description=param_docs.get(p.name)))
        try:
            model = create_model(f"{tool_name}_args", __config__=ConfigDict(extra="forbid"), **fields)
            model.model_json_schema()
        except Exception as e:
            raise ToolDefinitionError(f"tool {tool_name!r}: its parameters have no JSON schema: {e}") from e
        confirm = (
            needs_confirmation
            if needs_confirmation is not None
            else any(s.endswith(":write") for s in scope_list)
        )
        spec = ToolSpec(
            name=tool_name,
            description=description,
            scopes=scope_list,
            needs_confirmation=confirm,
            timeout=timeout,
            examples=tuple(examples),
            params={k: v for k, v in param_docs.items() if k in fields},
        )
        return KefuTool(fn, spec, model, ctx_param)

    return decorate


def discover_plugins() -> dict[str, Any]:
    """Entry points of the `kefu.tools` group, by name (not loaded yet)."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def load_plugins(names: Iterable[str]) -> list[KefuTool | BaseTool]:
    """Load the enabled plugins; an entry point may name a tool, a list of tools, or a function returning them."""
    available = discover_plugins()
    tools: list[KefuTool | BaseTool] = []
    for name in names:
        if name not in available:
            known = ", ".join(sorted(available)) or "none installed"
            raise LookupError(
                f"plugin tool {name!r} is not installed (entry-point group {ENTRY_POINT_GROUP}: {known})"
            )
        obj = available[name].load()
        if callable(obj) and not isinstance(obj, KefuTool | BaseTool):
            obj = obj()
        items = obj if isinstance(obj, list | tuple) else [obj]
        for item in items:
            if not isinstance(item, KefuTool | BaseTool):
                raise ToolDefinitionError(
                    f"plugin {name!r} gave {type(item).__name__}, not a kefu or LangChain tool"
                )
            tools.append(item)
    return tools
