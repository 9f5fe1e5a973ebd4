"""Build a shop database: create the tables and load the packaged demo shop (or any data in its shape)."""

from __future__ import annotations

import gzip
import json
from importlib import resources
from typing import Any

from sqlalchemy import Engine, delete, insert

from kefu.migrations import upgrade
from kefu.tools.orders import schema as t


def demo_shop_data() -> dict[str, Any]:
    """The τ-bench retail users, orders and products shipped inside the package (MIT, see kefu/demo)."""
    raw = resources.files("kefu.demo").joinpath("shop.json.gz").read_bytes()
    data: dict[str, Any] = json.loads(gzip.decompress(raw))
    return data


def _address(a: dict[str, str]) -> dict[str, str]:
    return {k: a.get(k, "") for k in ("address1", "address2", "city", "state", "country", "zip")}


def load_shop(engine: Engine, data: dict[str, Any] | None = None, *, reset: bool = True) -> None:
    """Create the tables (the `shop` migrations) and load `data` (default: the demo shop) in one transaction.

    With `reset` the shop tables are emptied first; the audit log is kept, because it is history.
    """
    data = data if data is not None else demo_shop_data()
    upgrade(engine, "shop")
    customers, methods, products, variants = [], [], [], []
    orders, items, fulfillments, payments = [], [], [], []
    for uid, u in data["users"].items():
        customers.append(
            {
                "id": uid,
                "first_name": u["name"]["first_name"],
                "last_name": u["name"]["last_name"],
                "email": u["email"],
                **_address(u["address"]),
            }
        )
        for pos, pm in enumerate(u["payment_methods"].values()):
            methods.append(
                {
                    "id": pm["id"],
                    "customer_id": uid,
                    "position": pos,
                    "source": pm["source"],
                    "brand": pm.get("brand"),
                    "last_four": pm.get("last_four"),
                    "balance": pm.get("balance"),
                }
            )
    for pid, p in data["products"].items():
        products.append({"id": pid, "name": p["name"]})
        for pos, v in enumerate(p["variants"].values()):
            variants.append(
                {
                    "item_id": v["item_id"],
                    "product_id": pid,
                    "position": pos,
                    "options": v["options"],
                    "available": v["available"],
                    "price": v["price"],
                }
            )
    owner_pos = {uid: {oid: i for i, oid in enumerate(u["orders"])} for uid, u in data["users"].items()}
    for oid, o in data["orders"].items():
        orders.append(
            {
                "id": oid,
                "customer_id": o["user_id"],
                "position": owner_pos[o["user_id"]].get(oid, 0),
                "status": o["status"],
                **_address(o["address"]),
                "cancel_reason": o.get("cancel_reason"),
                "exchange_items": o.get("exchange_items"),
                "exchange_new_items": o.get("exchange_new_items"),
                "exchange_payment_method_id": o.get("exchange_payment_method_id"),
                "exchange_price_difference": o.get("exchange_price_difference"),
                "return_items": o.get("return_items"),
                "return_payment_method_id": o.get("return_payment_method_id"),
            }
        )
        for pos, it in enumerate(o["items"]):
            items.append(
                {
                    "order_id": oid,
                    "position": pos,
                    "item_id": it["item_id"],
                    "product_id": it["product_id"],
                    "name": it["name"],
                    "price": it["price"],
                    "options": it["options"],
                }
            )
        for pos, f in enumerate(o["fulfillments"]):
            fulfillments.append(
                {
                    "order_id": oid,
                    "position": pos,
                    "tracking_ids": f["tracking_id"],
                    "item_ids": f["item_ids"],
                }
            )
        for pos, p in enumerate(o["payment_history"]):
            payments.append(
                {
                    "order_id": oid,
                    "position": pos,
                    "transaction_type": p["transaction_type"],
                    "amount": p["amount"],
                    "payment_method_id": p["payment_method_id"],
                }
            )
    shop_tables = [
        t.Payment,
        t.Fulfillment,
        t.OrderItem,
        t.Order,
        t.Variant,
        t.Product,
        t.PaymentMethod,
        t.Customer,
    ]
    with engine.begin() as conn:
        if reset:
            for table in shop_tables:
                conn.execute(delete(table))
        for table, rows in [
            (t.Customer, customers),
            (t.PaymentMethod, methods),
            (t.Product, products),
            (t.Variant, variants),
            (t.Order, orders),
            (t.OrderItem, items),
            (t.Fulfillment, fulfillments),
            (t.Payment, payments),
        ]:
            if rows:
                conn.execute(insert(table), rows)
