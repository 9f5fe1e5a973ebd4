"""The plan a turn produces, and the grounding check that keeps invented facts out of replies."""

from __future__ import annotations

import json

from kefu.agents import replies
from kefu.agents.generation import ReplyPlan, check, coverage, extract_spans, plan_from_turn, required_facts
from kefu.reply import ToolCallRecord
from kefu.tools.orders.loader import demo_shop_data


def _order() -> dict:
    orders = demo_shop_data()["orders"]
    return next(o for o in orders.values() if o["fulfillments"] and o["status"] == "delivered")


def _plan():
    order = _order()
    calls = [
        ToolCallRecord("find_user_id_by_email", {"email": "x@example.com"}, result=order["user_id"]),
        ToolCallRecord("get_order_details", {"order_id": order["order_id"]}, result=json.dumps(order)),
    ]
    return order, plan_from_turn(replies.order_status(order), customer="where is it?", tool_calls=calls)


def test_a_plan_carries_intent_facts_and_draft_in_a_compact_form() -> None:
    order, plan = _plan()
    text = plan.to_text()
    assert plan.intent == "order_status"
    assert text.splitlines()[0] == "intent: order_status"
    assert f"order={order['order_id']}" in text and "status=delivered" in text
    tracking = order["fulfillments"][0]["tracking_id"][0]
    assert f"tracking={tracking}" in text
    assert text.endswith(plan.draft) and "\ndraft: Order " in text
    assert len(text) < 2 * len(plan.draft) + 600  # compact: facts once, the draft once


def test_a_pending_write_becomes_the_plans_confirmation() -> None:
    summary = "Cancel order #W1234567 (reason: no longer needed)."
    call = ToolCallRecord(
        "cancel_pending_order",
        {"order_id": "#W1234567"},
        result=json.dumps({"confirmation_required": True, "summary": summary}),
    )
    plan = plan_from_turn(replies.confirm(summary), tool_calls=[call])
    assert plan.intent == "cancel_order" and plan.confirmation == summary
    assert f"confirm: {summary}" in plan.to_text()


def test_sources_and_suggestions_enter_the_plan() -> None:
    plan = plan_from_turn(
        "Returns are accepted within 30 days.",
        sources=[{"source_id": "policy.md#3", "snippet": "Returns within 30 days."}],
        recommendations=[{"name": "Bluetooth Speaker", "product_id": "1"}],
    )
    assert "passage [policy.md#3]: Returns within 30 days." in plan.to_text()
    assert "suggest: Bluetooth Speaker" in plan.to_text()


def test_the_facts_of_the_draft_pass_the_check() -> None:
    order, plan = _plan()
    assert check(plan.draft, plan.to_text()).ok
    facts = required_facts(plan.draft)
    assert order["order_id"] in facts and "delivered" in facts
    assert coverage(plan.draft, facts) == 1.0


def test_an_invented_amount_is_caught() -> None:
    order, plan = _plan()
    result = check(
        f"Your order {order['order_id']} is delivered and you were refunded $12.34.", plan.to_text()
    )
    assert not result.ok and [s.text for s in result.unsupported] == ["$12.34"]


def test_an_invented_order_id_tracking_number_or_email_is_caught() -> None:
    _, plan = _plan()
    reply = "Order #W0000001 shipped with tracking 999999999999; we wrote to someone@else.com."
    kinds = sorted(s.kind for s in check(reply, plan.to_text()).unsupported)
    assert kinds == ["email", "number", "order_id", "status"]


def test_where_an_order_will_be_shipped_is_not_a_status() -> None:
    """'Will now be shipped to <address>' restates an address change ('will now ship to'); 'has been
    shipped' still claims a status the plan must hold."""
    plan = ReplyPlan(
        intent="change_order_address",
        draft="Done: order #W8073920 will now ship to 103 Hillcrest Drive, Columbus, OH 43275.",
        facts=[("order", "#W8073920"), ("status", "pending")],
    )
    assert check(
        "Order #W8073920 will now be shipped to 103 Hillcrest Drive, Columbus, OH 43275.", plan.to_text()
    ).ok
    claimed = check("Order #W8073920 has been shipped to 103 Hillcrest Drive.", plan.to_text())
    assert [s.text for s in claimed.unsupported] == ["shipped"]


def test_an_invented_product_name_or_date_is_caught() -> None:
    _, plan = _plan()
    bad = check("It arrives on March 3rd with a free Indoor Security Camera.", plan.to_text())
    assert {s.kind for s in bad.unsupported} == {"date", "product"}


def test_plain_wording_is_not_a_fact() -> None:
    _, plan = _plan()
    assert extract_spans("Thanks for your patience! Let me know if I can help with anything else.") == []
    assert check("Happy to help, have a great day!", plan.to_text()).ok


def test_amounts_match_across_formats() -> None:
    assert check("You paid $1,000 in total.", "payment=$1000.00").ok
    assert coverage("order W1234567 costs 54.04", ["#W1234567", "$54.04"]) == 1.0


def test_a_number_inside_a_longer_one_is_not_support() -> None:
    assert not check("You get $5.00 back.", "payment=$54.04; order=#W5123456").ok


def test_a_real_number_given_the_wrong_name_is_caught() -> None:
    """Seen from the fine-tuned writer: the tracking number presented as "your account number"."""
    order, plan = _plan()
    tracking = order["fulfillments"][0]["tracking_id"][0]
    wrong = check(f"Order {order['order_id']} is delivered. Your account number: {tracking}.", plan.to_text())
    assert not wrong.ok and [s.text for s in wrong.mislabelled] == [tracking] and not wrong.unsupported
    for fine in (
        f"Order {order['order_id']} is delivered. Tracking number: {tracking}.",
        f"Order {order['order_id']} is delivered; you can follow it with {tracking}.",  # no label: nothing claimed
    ):
        assert check(fine, plan.to_text()).ok, fine
