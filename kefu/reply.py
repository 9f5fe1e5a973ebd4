"""The one result type everyone reads: the SDK user, the CLI, the server and the evaluation harness."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ToolCallRecord:
    """One tool call made during the turn."""

    name: str
    args: dict[str, Any]
    result: str | None = None
    """The tool's answer, when it succeeded."""
    error: str | None = None
    """Why it failed or was refused, when it did."""


@dataclass(frozen=True)
class Reply:
    """What the assistant said in one turn, and why."""

    text: str
    session_id: str
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)
    """Knowledge passages the answer used (filled by the knowledge base)."""
    recommendations: list[dict[str, Any]] = field(default_factory=list)
    """Products suggested, with their explanation (filled by the recommender)."""
    safety: list[dict[str, Any]] = field(default_factory=list)
    """Verdicts of the safety checks (filled by the safety layer)."""
    handoff: bool = False
    """True once the conversation is handed to a person."""
    timings: dict[str, float] = field(default_factory=dict)
    """Milliseconds: `total`, and `brain` / `tools` where measured."""
    customer_id: str | None = None
    """The authenticated customer, once there is one."""
    generation: dict[str, Any] = field(default_factory=dict)
    """How the text was written when a model writes replies: `mode` (generated, regenerated, fallback,
    template), `intent`, invented `unsupported` and `missing` facts of rejected tries, `ms`, `tokens`."""
    intent: str = "chat"
    """What the customer asked for this turn ('order_status', 'cancel_order', 'policy_question', ...)."""
    sentiment: dict[str, Any] = field(default_factory=dict)
    """How the customer's message read: `label` (negative, neutral, positive), `score` (-1..1), `upset`,
    `source` (model, or lexicon when the model cannot load). Also recorded as a `sentiment` event."""

    @property
    def writes(self) -> list[ToolCallRecord]:
        """Tool calls of this turn that changed data (confirmed writes that succeeded)."""
        return [
            c
            for c in self.tool_calls
            if c.error is None
            and c.result is not None
            and c.result.startswith("{")
            and '"confirmation_required"' not in c.result
            and c.name in _WRITE_NAMES
        ]


_WRITE_NAMES = frozenset(
    {
        "cancel_pending_order",
        "exchange_delivered_order_items",
        "modify_pending_order_address",
        "modify_pending_order_items",
        "modify_pending_order_payment",
        "modify_user_address",
        "return_delivered_order_items",
    }
)
