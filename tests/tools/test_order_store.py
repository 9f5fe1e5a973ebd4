"""The order store enforces the shop policy inside each transaction, with τ-bench's semantics."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, event

from kefu.tools.orders import NotFound, OrderStore, ShopError, demo_shop_data


@pytest.fixture
def store(shop_url: str) -> OrderStore:
    return OrderStore(create_engine(shop_url))


def test_the_demo_shop_round_trips_exactly(store: OrderStore):
    data = demo_shop_data()
    snap = store.snapshot()
    assert snap["orders"] == data["orders"]
    assert snap["users"] == data["users"]


def test_identity_lookups_are_case_insensitive_and_exact(store: OrderStore):
    assert store.find_customer_by_email("Noah.Brown7922@example.com") == "noah_brown_6181"
    assert store.find_customer_by_name_zip("noah", "BROWN", "80279") == "noah_brown_6181"
    with pytest.raises(NotFound):
        store.find_customer_by_name_zip("Noah", "Brown", "80278")
    with pytest.raises(NotFound):
        store.find_customer_by_email("' OR 1=1 --@example.com")


def test_an_order_of_someone_else_is_not_found(store: OrderStore):
    with pytest.raises(NotFound):
        store.order_details("#W7678072", customer_id="ava_kovacs_3448")
    assert store.order_details("#W7678072", customer_id="noah_brown_6181")["status"] == "delivered"


def test_cancel_refunds_and_only_pending(store: OrderStore):
    with pytest.raises(ShopError, match="non-pending"):
        store.cancel_pending_order("#W7678072", "no longer needed", customer_id="noah_brown_6181")
    with pytest.raises(ShopError, match="invalid reason"):
        store.cancel_pending_order("#W4184032", "too expensive", customer_id="ava_kovacs_3448")
    order = store.cancel_pending_order("#W4184032", "ordered by mistake", customer_id="ava_kovacs_3448")
    assert order["status"] == "cancelled" and order["cancel_reason"] == "ordered by mistake"
    assert [p["transaction_type"] for p in order["payment_history"]] == ["payment", "refund"]


def test_a_dry_run_checks_everything_and_writes_nothing(store: OrderStore):
    before = store.snapshot()
    preview = store.cancel_pending_order(
        "#W4184032", "no longer needed", customer_id="ava_kovacs_3448", dry_run=True
    )
    assert preview["status"] == "cancelled"
    assert store.snapshot() == before


def test_exchange_once_then_never_again(store: OrderStore):
    order = store.order_details("#W7678072", customer_id="noah_brown_6181")
    item = order["items"][0]
    product = store.product_details(item["product_id"])
    new = next(v for v in product["variants"].values() if v["available"] and v["item_id"] != item["item_id"])
    pm = next(iter(store.customer_details("noah_brown_6181")["payment_methods"]))
    done = store.exchange_delivered_order_items(
        "#W7678072", [item["item_id"]], [new["item_id"]], pm, customer_id="noah_brown_6181"
    )
    assert done["status"] == "exchange requested"
    with pytest.raises(ShopError, match="non-delivered"):
        store.exchange_delivered_order_items(
            "#W7678072", [item["item_id"]], [new["item_id"]], pm, customer_id="noah_brown_6181"
        )


def test_exchange_needs_an_available_variant_of_the_same_product(store: OrderStore):
    order = store.order_details("#W7678072", customer_id="noah_brown_6181")
    item = order["items"][0]
    other_product = next(pid for pid in store.product_types().values() if pid != item["product_id"])
    foreign = next(iter(store.product_details(other_product)["variants"]))
    pm = next(iter(store.customer_details("noah_brown_6181")["payment_methods"]))
    with pytest.raises(ShopError, match="not found or available"):
        store.exchange_delivered_order_items(
            "#W7678072", [item["item_id"]], [foreign], pm, customer_id="noah_brown_6181"
        )


def test_returns_refund_only_to_the_original_method_or_a_gift_card(store: OrderStore):
    order = store.order_details("#W7678072", customer_id="noah_brown_6181")
    methods = store.customer_details("noah_brown_6181")["payment_methods"]
    original = order["payment_history"][0]["payment_method_id"]
    other = next((m for m, pm in methods.items() if m != original and pm["source"] != "gift_card"), None)
    if other is not None:
        with pytest.raises(ShopError, match="original payment method"):
            store.return_delivered_order_items(
                "#W7678072", [order["items"][0]["item_id"]], other, customer_id="noah_brown_6181"
            )
    done = store.return_delivered_order_items(
        "#W7678072", [order["items"][0]["item_id"]], original, customer_id="noah_brown_6181"
    )
    assert done["status"] == "return requested"


def test_a_write_that_fails_midway_leaves_nothing_behind(store: OrderStore):
    """The refund row is inserted, then the database fails: the cancel must roll back whole."""
    before = store.snapshot()

    def fail_on_status_update(conn, cursor, statement, params, context, executemany):
        if statement.startswith("UPDATE orders"):
            raise RuntimeError("disk full")

    event.listen(store.engine, "before_cursor_execute", fail_on_status_update)
    try:
        with pytest.raises(RuntimeError):
            store.cancel_pending_order("#W4184032", "no longer needed", customer_id="ava_kovacs_3448")
    finally:
        event.remove(store.engine, "before_cursor_execute", fail_on_status_update)
    assert store.snapshot() == before


def test_audit_log_keeps_who_what_when(store: OrderStore):
    store.record_audit(
        tool="cancel_pending_order",
        args={"order_id": "#W4184032"},
        outcome="done",
        customer_id="ava_kovacs_3448",
        session_id="s1",
    )
    [entry] = store.audit_entries(session_id="s1")
    assert entry["customer_id"] == "ava_kovacs_3448" and entry["tool"] == "cancel_pending_order"
    assert entry["at"] is not None
