"""What a turn adds to the event log, and to the recommender in real time.

From the turn's tool calls: products looked at (view), items returned or taken in an exchange or
item change (return / purchase), suggestions shown, and a suggestion followed (click: the customer
asked about a product that was suggested earlier in the session).
"""

from __future__ import annotations

import json
from typing import Any

from kefu.event_log import EventLog
from kefu.reply import ToolCallRecord


def record_turn_events(
    log: EventLog,
    calls: list[ToolCallRecord],
    *,
    session_id: str,
    customer_id: str | None,
    recommender: Any,
) -> list[dict[str, Any]]:
    """Append the turn's events; feed the interactions to the recommender; return the suggestions shown."""
    rows: list[dict[str, Any]] = []
    shown: list[dict[str, Any]] = []
    looked_at = any(c.name == "get_product_details" and c.result for c in calls)
    suggested_before = (
        {e["item_id"] for e in log.read(kinds=("recommendation_shown",), session_id=session_id)}
        if looked_at
        else set()
    )
    for call in calls:
        if call.result is None:
            continue
        base = {"session_id": session_id, "customer_id": customer_id}
        if call.name == "get_product_details":
            pid = str(call.args.get("product_id"))
            rows.append({**base, "kind": "view", "item_id": pid})
            if pid in suggested_before:
                rows.append({**base, "kind": "click", "item_id": pid})
        elif call.name == "recommend_products":
            found = json.loads(call.result).get("recommendations", [])
            for entry in found:
                shown.append({**entry, "kind": call.args.get("kind", "personal")})
                rows.append(
                    {
                        **base,
                        "kind": "recommendation_shown",
                        "item_id": entry.get("product_id"),
                        "weight": 0.0,
                        "payload": {"reason": entry.get("reason"), "kind": call.args.get("kind")},
                    }
                )
        elif call.result.startswith("{") and "confirmation_required" not in call.result:
            result = json.loads(call.result)
            if call.name == "return_delivered_order_items":
                by_id = {i["item_id"]: i["product_id"] for i in result.get("items", [])}
                rows += [
                    {**base, "kind": "return", "item_id": by_id.get(i)} for i in call.args.get("item_ids", [])
                ]
            elif call.name in ("exchange_delivered_order_items", "modify_pending_order_items"):
                by_id = {i["item_id"]: i["product_id"] for i in result.get("items", [])}
                rows += [
                    {**base, "kind": "purchase", "item_id": by_id.get(i) or by_id.get(o)}
                    for o, i in zip(
                        call.args.get("item_ids", []), call.args.get("new_item_ids", []), strict=False
                    )
                ]
    log.append(rows)
    if recommender is not None:
        recommender.publish(rows)
        recommender.sync()  # this turn's events, and any another process appended
    return shown
