"""The declarative part of the embedded brain's flows: what each task needs and how it is named.

Each task lists the order statuses it applies to; the brain collects identity, order, items,
options, reason, payment or address as the task needs, then calls the task's tool, whose
confirmation gate makes the customer confirm before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Order statuses a task can act on (the tools check again, in the transaction).
ORDER_STATUS_FOR: dict[str, tuple[str, ...] | None] = {
    "order_status": None,
    "cancel_order": ("pending",),
    "modify_items": ("pending",),
    "change_order_address": ("pending",),
    "change_order_payment": ("pending",),
    "return_items": ("delivered",),
    "exchange_items": ("delivered",),
}

# How we name each task when asking for what is missing ("I can help you ...").
FLOW_PHRASES: dict[str, str] = {
    "order_status": "check your order",
    "cancel_order": "cancel an order",
    "return_items": "return items",
    "exchange_items": "exchange items",
    "modify_items": "change the items of an order",
    "change_order_address": "change the shipping address of an order",
    "change_order_payment": "change the payment method of an order",
    "change_user_address": "update your address",
    "account_info": "with your account",
}


# "Which order would you like to ...?"
ORDER_PURPOSE: dict[str, str] = {
    "order_status": "check",
    "cancel_order": "cancel",
    "return_items": "return items from",
    "exchange_items": "exchange items from",
    "modify_items": "change items in",
    "change_order_address": "send to a new address",
    "change_order_payment": "pay with another method",
}


@dataclass(frozen=True)
class Step:
    """The brain's next move: a tool call (tool + args) or a reply (text)."""

    tool: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    text: str = ""


def call(tool: str, args: dict[str, Any]) -> Step:
    return Step(tool=tool, args=args)


def reply(text: str) -> Step:
    return Step(text=text)
