"""`Reply.intent`: what the customer asked for in a turn, for analytics and routing by the host.

The turn's tool calls say it most reliably (a cancellation called `cancel_pending_order`); when no task
tool ran, the embedded brain's own reading of the message (kept in its memory) says it; otherwise 'chat'.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage

from kefu.reply import ToolCallRecord

BRAIN_MEMORY_KEY = "kefu_dialog"  # kefu.agents.brains.embedded.STATE_KEY

_TOPIC_BY_TOOL = (
    ("transfer_to_human_agents", "human_agent"),
    ("cancel_pending_order", "cancel_order"),
    ("return_delivered_order_items", "return_items"),
    ("exchange_delivered_order_items", "exchange_items"),
    ("modify_pending_order_items", "modify_items"),
    ("modify_pending_order_address", "change_order_address"),
    ("modify_user_address", "change_user_address"),
    ("modify_pending_order_payment", "change_order_payment"),
    ("recommend_products", "recommendation"),
    ("search_knowledge", "policy_question"),
    ("get_order_details", "order_status"),
    ("get_product_details", "product_info"),
    ("list_all_product_types", "product_info"),
    ("get_user_details", "account_info"),
    ("find_user_id_by_email", "identify"),
    ("find_user_id_by_name_zip", "identify"),
)


def turn_intent(records: Sequence[ToolCallRecord], final: Any) -> str:
    """The turn's intent label: from its tool calls, else the brain's reading, else 'chat'."""
    names = {r.name for r in records}
    for tool, topic in _TOPIC_BY_TOOL:
        if tool in names and topic != "identify":
            return topic
    if isinstance(final, AIMessage):
        heard = (final.additional_kwargs.get(BRAIN_MEMORY_KEY) or {}).get("heard")
        if isinstance(heard, str) and heard and heard != "unknown":
            return heard
    if names:
        plugin = sorted(n for n in names if n not in dict(_TOPIC_BY_TOOL))
        return plugin[0] if plugin else "identify"
    return "chat"
