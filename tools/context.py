"""What a tool is given: typed dependencies, and the facts of the session that only code may set.

Tools never trust identities typed by a model or a customer: the authenticated customer comes from
the session state, which only the authentication tools write. This is where authorization lives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict

if TYPE_CHECKING:
    from kefu.tools.orders.store import OrderStore


class PendingAction(TypedDict):
    """A write the customer was asked to confirm: the tool and its exact arguments."""

    tool: str
    args: dict[str, Any]


class SessionFacts(TypedDict, total=False):
    """Keys of the agent state that tools read and write (besides the messages)."""

    customer_id: str | None
    """The customer this conversation authenticated; set only by the authentication tools."""
    pending_action: PendingAction | None
    """The write waiting for the customer's explicit confirmation."""
    confirmed_action: PendingAction | None
    """The write the customer confirmed in their latest message; consumed by that write."""
    handoff: bool
    """Whether the conversation was handed to a person."""
    tool_failures: int
    """Tool calls that raised or timed out in this session."""


@dataclass(frozen=True)
class Deps:
    """Process-level dependencies handed to every tool call (LangGraph's runtime context)."""

    store: OrderStore
    session_id: str = ""
    extras: dict[str, Any] = field(default_factory=dict)
    """Resources added by later areas and plugins (knowledge index, recommender, ...)."""


@dataclass(frozen=True)
class ToolContext:
    """What a plugin tool sees: dependencies plus the authenticated customer, if any."""

    deps: Deps
    customer_id: str | None

    @property
    def store(self) -> OrderStore:
        return self.deps.store

    @property
    def session_id(self) -> str:
        return self.deps.session_id
