"""A loyalty-points tool: one point per whole dollar of delivered orders, in a few lines of kefu."""

from __future__ import annotations

import kefu


@kefu.tool(
    scopes=["orders:read"],
    timeout=5.0,
    examples=[
        "how many loyalty points do I have",
        "what's my points balance",
        "check my reward points",
        "do i have any loyalty points",
        "how many points have i earned",
        "loyalty points please",
        "whats my rewards balance",
        "how much reward points on my account",
    ],
)
def loyalty_points(ctx: kefu.ToolContext) -> str:
    """Tell the customer how many loyalty points they have: one per whole dollar of delivered orders."""
    assert ctx.customer_id is not None  # the orders:read scope guarantees an authenticated customer
    profile = ctx.store.customer_details(ctx.customer_id)
    total = 0.0
    for order_id in profile["orders"]:
        order = ctx.store.order_details(order_id, customer_id=ctx.customer_id)
        if order["status"] == "delivered":
            total += sum(p["amount"] for p in order["payment_history"] if p["transaction_type"] == "payment")
    return f"You have {int(total)} loyalty points (one per dollar of delivered orders)."
