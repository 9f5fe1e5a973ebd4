"""What the safety layer needs from a turn, and what a turn keeps of its verdicts.

The layer itself (`kefu.safety`) knows nothing of shops or sessions. Here the facade tells it whose data
may appear in a reply (the authenticated customer's profile and orders, plus what the customer typed in
this conversation), gathers the verdicts of the three stages into `Reply.safety`, and turns the tripped
ones into `safety` events for the operator console and the audit trail.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, ToolMessage

from kefu.safety import CustomerFacts

SAFETY_KEY = "kefu_safety"
"""Where `SafetyMiddleware` leaves a tool message's verdicts (`ToolMessage.additional_kwargs`)."""

_TYPED = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|#?W\d{7}|\b\d{5}\b")


def customer_facts(store: Any, customer_id: str | None, messages: Iterable[BaseMessage]) -> CustomerFacts:
    """The authenticated customer's details (profile, payment methods, orders and their addresses), and
    the emails, order ids and zip codes the customer typed themselves: these may appear in a reply. So may
    an address the customer typed (the new address of an order, read back for confirmation): an address
    in a reply counts as theirs when its words appear in one of their messages."""
    said = [m.content for m in messages if isinstance(m, HumanMessage) and isinstance(m.content, str)]
    typed = [match.group(0) for text in said for match in _TYPED.finditer(text)]
    if customer_id is None:
        return CustomerFacts.of(addresses=said, also_allowed=typed)
    try:
        user = store.customer_details(customer_id)
    except Exception:  # an unknown id: nobody's data is allowed
        return CustomerFacts.of(addresses=said, also_allowed=typed)
    addresses = [_address(user.get("address") or {}), *said]
    for order_id in user.get("orders", []):
        try:
            order = store.order_details(order_id, customer_id=customer_id)
        except Exception:
            continue
        addresses.append(_address(order.get("address") or {}))
    methods = user.get("payment_methods", {}).values()
    name = user.get("name") or {}
    return CustomerFacts.of(
        email=user.get("email"),
        order_ids=list(user.get("orders", [])),
        addresses=[a for a in addresses if a],
        payment_ids=[
            *(m["id"] for m in methods),
            *(str(m["last_four"]) for m in methods if m.get("last_four")),
        ],
        names=[" ".join(filter(None, [name.get("first_name"), name.get("last_name")]))],
        also_allowed=[customer_id, *typed],
    )


def _address(a: dict[str, Any]) -> str:
    street = ", ".join(filter(None, [a.get("address1"), a.get("address2")]))
    return ", ".join(
        filter(None, [street, a.get("city"), f"{a.get('state', '')} {a.get('zip', '')}".strip()])
    )


def tool_verdicts(messages: Iterable[BaseMessage]) -> list[dict[str, Any]]:
    """The tool-output verdicts `SafetyMiddleware` attached to this turn's tool messages."""
    out: list[dict[str, Any]] = []
    for m in messages:
        if isinstance(m, ToolMessage):
            for verdict in m.additional_kwargs.get(SAFETY_KEY, []):
                out.append({"stage": "tool", "source": m.name, **verdict})
    return out


def staged(stage: str, verdicts: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"stage": stage, **v} for v in verdicts]


def safety_events(
    verdicts: Iterable[dict[str, Any]], *, session_id: str, customer_id: str | None
) -> list[dict[str, Any]]:
    """Event rows for the tripped verdicts (never the customer's text, only check, score and action)."""
    return [
        {
            "kind": "safety",
            "session_id": session_id,
            "customer_id": customer_id,
            "weight": 0.0,
            "payload": {k: v.get(k) for k in ("stage", "check", "score", "action", "detail", "source")},
        }
        for v in verdicts
        if v.get("tripped")
    ]
