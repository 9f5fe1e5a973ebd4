"""The reply plan: what one turn decided, in a compact form the writer model reads.

A plan carries the intent, the facts from tool results, knowledge passages with their source ids,
recommendations, a pending confirmation, policy notes and the template reply (the draft, which is
also the fallback). `plan_from_turn` builds one from what a `Reply` records.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from kefu.tools.orders.describe import address_text, item_text, money

WRITE_INTENTS = {
    "cancel_pending_order": "cancel_order",
    "return_delivered_order_items": "return_items",
    "exchange_delivered_order_items": "exchange_items",
    "modify_pending_order_items": "modify_items",
    "modify_pending_order_address": "change_order_address",
    "modify_pending_order_payment": "change_order_payment",
    "modify_user_address": "change_user_address",
}
READ_INTENTS = {
    "get_order_details": "order_status",
    "get_user_details": "account_info",
    "find_user_id_by_email": "authenticate",
    "find_user_id_by_name_zip": "authenticate",
    "get_product_details": "product_info",
    "list_all_product_types": "product_info",
    "search_knowledge": "policy_question",
    "recommend_products": "recommendation",
}


@dataclass
class ReplyPlan:
    """One turn's outcome, for the writer."""

    intent: str
    """What the turn was about, e.g. `order_status`, `cancel_order`, `policy_question`, `chat`."""
    draft: str
    """The template reply: the reference wording and the fallback."""
    customer: str = ""
    """The customer's message."""
    facts: list[tuple[str, str]] = field(default_factory=list)
    """(name, value) pairs from the tool results, e.g. ("order", "#W7678072"), ("status", "delivered")."""
    passages: list[dict[str, str]] = field(default_factory=list)
    """Knowledge passages used: `source_id` and `text`."""
    recommendations: list[str] = field(default_factory=list)
    """Suggested products, one line each."""
    confirmation: str | None = None
    """The write awaiting the customer's yes, in plain language."""
    notes: list[str] = field(default_factory=list)
    """Policy notes the reply must respect."""
    unsure: bool = False
    """The knowledge search found only passages near the question, not an answer (`confident` false)."""

    def to_text(self) -> str:
        """The compact text form the model reads (and the grounding check searches)."""
        lines = [f"intent: {self.intent}"]
        if self.customer:
            lines.append(f"customer: {self.customer.strip()}")
        if self.facts:
            lines.append("facts: " + "; ".join(f"{k}={v}" for k, v in self.facts))
        for p in self.passages:
            lines.append(f"passage [{p.get('source_id', '')}]: {p.get('text', '').strip()}")
        if self.recommendations:
            lines.append("suggest: " + "; ".join(self.recommendations))
        if self.confirmation:
            lines.append(f"confirm: {self.confirmation}")
        for n in self.notes:
            lines.append(f"note: {n}")
        lines.append(f"draft: {self.draft.strip()}")
        return "\n".join(lines)


def order_facts(order: dict[str, Any]) -> list[tuple[str, str]]:
    facts = [("order", order["order_id"]), ("status", order["status"])]
    for i in order.get("items", []):
        facts.append(("item", item_text(i)))
    for f in order.get("fulfillments", []):
        for t in f.get("tracking_id", []):
            facts.append(("tracking", str(t)))
    for p in order.get("payment_history", []):
        facts.append((p["transaction_type"], money(p["amount"])))
    if order.get("address"):
        facts.append(("address", address_text(order["address"])))
    return facts


def _facts_from_result(name: str, result: dict[str, Any]) -> list[tuple[str, str]]:
    if "order_id" in result and "status" in result:
        return order_facts(result)
    if "email" in result and "payment_methods" in result:
        return [("email", result["email"]), ("address", address_text(result.get("address", {})))]
    if name == "get_product_details" and "name" in result:
        return [("product", result["name"])]
    return []


def plan_from_turn(
    draft: str,
    *,
    customer: str = "",
    tool_calls: list[Any] = (),  # type: ignore[assignment]
    sources: list[dict[str, Any]] = (),  # type: ignore[assignment]
    recommendations: list[dict[str, Any]] = (),  # type: ignore[assignment]
) -> ReplyPlan:
    """A plan from what a `Reply` records: its text (the draft), tool calls, sources, suggestions."""
    intent = "chat"
    facts: list[tuple[str, str]] = []
    confirmation = None
    unsure = False
    for call in tool_calls:
        intent = WRITE_INTENTS.get(call.name) or READ_INTENTS.get(call.name) or intent
        if call.result is None:
            if call.error:
                facts.append(("error", call.error))
            continue
        try:
            result = json.loads(call.result)
        except ValueError:
            result = None
        if isinstance(result, dict):
            if call.name == "search_knowledge" and result.get("found") and result.get("confident") is False:
                unsure = True
            if result.get("status") == "confirmation_required" or "confirmation_required" in result:
                confirmation = str(result.get("summary") or result.get("confirmation_required") or "")
                continue
            for fact in _facts_from_result(call.name, result):
                if fact not in facts:
                    facts.append(fact)
        elif isinstance(call.result, str) and call.name.startswith("find_user_id"):
            facts.append(("customer", call.result))
    passages = [
        {"source_id": str(s.get("source_id", "")), "text": str(s.get("snippet", ""))} for s in sources
    ]
    recs = [str(r.get("name") or r.get("product_name") or r.get("product_id", "")) for r in recommendations]
    return ReplyPlan(
        intent=intent,
        draft=draft,
        customer=customer,
        facts=facts,
        passages=passages,
        recommendations=[r for r in recs if r],
        confirmation=confirmation,
        unsure=unsure,
    )
