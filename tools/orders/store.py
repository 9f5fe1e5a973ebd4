"""The order store: every read and write the shop tools make, as real SQL in real transactions.

Each write checks the shop policy (status, ownership, availability, balances) inside the same
transaction that changes the rows, so a refused or failing write leaves nothing half-done.
Results use τ-bench's JSON shapes, so its tasks and final-state checks apply unchanged.
Every query is built with SQLAlchemy, so values are always bound parameters.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from kefu.tools.orders import schema as t

CANCEL_REASONS = ("no longer needed", "ordered by mistake")
ADDRESS_FIELDS = ("address1", "address2", "city", "state", "country", "zip")


class ShopError(Exception):
    """A request the shop refuses (unknown id, wrong status, policy); the message is safe to show."""


class NotFound(ShopError):
    """An id that does not exist, or that belongs to somebody else (the two are not told apart)."""


def _money(x: float) -> float:
    return round(x + 0.0, 2)


class OrderStore:
    """Reads and writes of one shop database, given an SQLAlchemy engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def _tx(self, *, dry_run: bool = False) -> Iterator[Session]:
        """One transaction; `dry_run` rolls it back, so a write can be checked before it is confirmed."""
        session = self._sessions()
        try:
            yield session
            if dry_run:
                session.rollback()
            else:
                session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    # ---- identity -------------------------------------------------------------------------------
    def find_customer_by_email(self, email: str) -> str:
        with self._tx() as s:
            cid = s.scalar(select(t.Customer.id).where(func.lower(t.Customer.email) == email.strip().lower()))
        if cid is None:
            raise NotFound("user not found")
        return cid

    def find_customer_by_name_zip(self, first_name: str, last_name: str, zip_code: str) -> str:
        with self._tx() as s:
            cid = s.scalar(
                select(t.Customer.id).where(
                    func.lower(t.Customer.first_name) == first_name.strip().lower(),
                    func.lower(t.Customer.last_name) == last_name.strip().lower(),
                    t.Customer.zip == zip_code.strip(),
                )
            )
        if cid is None:
            raise NotFound("user not found")
        return cid

    # ---- reads ----------------------------------------------------------------------------------
    def customer_details(self, customer_id: str) -> dict[str, Any]:
        with self._tx() as s:
            c = s.get(t.Customer, customer_id, options=[selectinload(t.Customer.payment_methods)])
            if c is None:
                raise NotFound("user not found")
            order_ids = s.scalars(
                select(t.Order.id).where(t.Order.customer_id == customer_id).order_by(t.Order.position)
            ).all()
            return {
                "user_id": c.id,
                "name": {"first_name": c.first_name, "last_name": c.last_name},
                "address": {f: getattr(c, f) for f in ADDRESS_FIELDS},
                "email": c.email,
                "payment_methods": {pm.id: _payment_method(pm) for pm in c.payment_methods},
                "orders": list(order_ids),
            }

    def order_owner(self, order_id: str) -> str | None:
        with self._tx() as s:
            return s.scalar(select(t.Order.customer_id).where(t.Order.id == order_id))

    def order_details(self, order_id: str, *, customer_id: str | None) -> dict[str, Any]:
        """The order as τ-bench shows it; `customer_id` must own it (None skips the check: admin use)."""
        with self._tx() as s:
            return _order_json(self._owned_order(s, order_id, customer_id, for_update=False))

    def product_details(self, product_id: str) -> dict[str, Any]:
        with self._tx() as s:
            p = s.get(t.Product, product_id, options=[selectinload(t.Product.variants)])
            if p is None:
                raise NotFound("product not found")
            return {
                "name": p.name,
                "product_id": p.id,
                "variants": {
                    v.item_id: {
                        "item_id": v.item_id,
                        "options": v.options,
                        "available": v.available,
                        "price": v.price,
                    }
                    for v in p.variants
                },
            }

    def product_types(self) -> dict[str, str]:
        with self._tx() as s:
            rows = s.execute(select(t.Product.name, t.Product.id).order_by(t.Product.name)).all()
        return {name: pid for name, pid in rows}

    # ---- writes ---------------------------------------------------------------------------------
    def cancel_pending_order(
        self, order_id: str, reason: str, *, customer_id: str, dry_run: bool = False
    ) -> dict[str, Any]:
        with self._tx(dry_run=dry_run) as s:
            order = self._owned_order(s, order_id, customer_id)
            if order.status != "pending":
                raise ShopError("non-pending order cannot be cancelled")
            if reason not in CANCEL_REASONS:
                raise ShopError("invalid reason")
            for p in list(order.payments):
                self._append_payment(order, "refund", p.amount, p.payment_method_id)
                self._credit_gift_card(s, p.payment_method_id, p.amount)
            order.status = "cancelled"
            order.cancel_reason = reason
            s.flush()
            return _order_json(order)

    def modify_pending_order_address(
        self, order_id: str, address: dict[str, str], *, customer_id: str, dry_run: bool = False
    ) -> dict[str, Any]:
        with self._tx(dry_run=dry_run) as s:
            order = self._owned_order(s, order_id, customer_id)
            if order.status != "pending":
                raise ShopError("non-pending order cannot be modified")
            for f in ADDRESS_FIELDS:
                setattr(order, f, address[f])
            s.flush()
            return _order_json(order)

    def modify_pending_order_payment(
        self, order_id: str, payment_method_id: str, *, customer_id: str, dry_run: bool = False
    ) -> dict[str, Any]:
        with self._tx(dry_run=dry_run) as s:
            order = self._owned_order(s, order_id, customer_id)
            if order.status != "pending":
                raise ShopError("non-pending order cannot be modified")
            method = self._customer_method(s, order.customer_id, payment_method_id)
            if len(order.payments) != 1 or order.payments[0].transaction_type != "payment":
                raise ShopError("there should be exactly one payment for a pending order")
            old = order.payments[0]
            if old.payment_method_id == payment_method_id:
                raise ShopError("the new payment method should be different from the current one")
            amount = old.amount
            if method.source == "gift_card" and (method.balance or 0.0) < amount:
                raise ShopError("insufficient gift card balance to pay for the order")
            old_method_id = old.payment_method_id
            self._append_payment(order, "payment", amount, payment_method_id)
            self._append_payment(order, "refund", amount, old_method_id)
            if method.source == "gift_card":
                method.balance = _money((method.balance or 0.0) - amount)
            self._credit_gift_card(s, old_method_id, amount)
            s.flush()
            return _order_json(order)

    def modify_pending_order_items(
        self,
        order_id: str,
        item_ids: list[str],
        new_item_ids: list[str],
        payment_method_id: str,
        *,
        customer_id: str,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        with self._tx(dry_run=dry_run) as s:
            order = self._owned_order(s, order_id, customer_id)
            if order.status != "pending":
                raise ShopError("non-pending order cannot be modified")
            diff, changes = self._swap_prices(s, order, item_ids, new_item_ids)
            method = self._customer_method(s, order.customer_id, payment_method_id)
            if method.source == "gift_card" and (method.balance or 0.0) < diff:
                raise ShopError("insufficient gift card balance to pay for the new item")
            if method.source == "gift_card":
                method.balance = _money((method.balance or 0.0) - diff)
            self._append_payment(order, "payment" if diff > 0 else "refund", abs(diff), payment_method_id)
            for item, variant in changes:
                item.item_id = variant.item_id
                item.price = variant.price
                item.options = dict(variant.options)
            order.status = "pending (item modified)"
            s.flush()
            return _order_json(order)

    def return_delivered_order_items(
        self,
        order_id: str,
        item_ids: list[str],
        payment_method_id: str,
        *,
        customer_id: str,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        with self._tx(dry_run=dry_run) as s:
            order = self._owned_order(s, order_id, customer_id)
            if order.status != "delivered":
                raise ShopError("non-delivered order cannot be returned")
            method = self._customer_method(s, order.customer_id, payment_method_id)
            if method.source != "gift_card" and payment_method_id != order.payments[0].payment_method_id:
                raise ShopError("payment method should be either the original payment method or a gift card")
            self._check_items(order, item_ids)
            order.status = "return requested"
            order.return_items = sorted(item_ids)
            order.return_payment_method_id = payment_method_id
            s.flush()
            return _order_json(order)

    def exchange_delivered_order_items(
        self,
        order_id: str,
        item_ids: list[str],
        new_item_ids: list[str],
        payment_method_id: str,
        *,
        customer_id: str,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        with self._tx(dry_run=dry_run) as s:
            order = self._owned_order(s, order_id, customer_id)
            if order.status != "delivered":
                raise ShopError("non-delivered order cannot be exchanged")
            diff, _ = self._swap_prices(s, order, item_ids, new_item_ids)
            method = self._customer_method(s, order.customer_id, payment_method_id)
            if method.source == "gift_card" and (method.balance or 0.0) < diff:
                raise ShopError("insufficient gift card balance to pay for the price difference")
            order.status = "exchange requested"
            order.exchange_items = sorted(item_ids)
            order.exchange_new_items = sorted(new_item_ids)
            order.exchange_payment_method_id = payment_method_id
            order.exchange_price_difference = diff
            s.flush()
            return _order_json(order)

    def modify_user_address(
        self, user_id: str, address: dict[str, str], *, customer_id: str, dry_run: bool = False
    ) -> dict[str, Any]:
        if user_id != customer_id:
            raise NotFound("user not found")
        with self._tx(dry_run=dry_run) as s:
            c = s.get(t.Customer, user_id, with_for_update=True)
            if c is None:
                raise NotFound("user not found")
            for f in ADDRESS_FIELDS:
                setattr(c, f, address[f])
        return self.customer_details(user_id) if not dry_run else {"user_id": user_id, "address": address}

    def record_audit(
        self,
        *,
        tool: str,
        args: dict[str, Any],
        outcome: str,
        detail: str = "",
        customer_id: str | None,
        session_id: str | None,
    ) -> None:
        """Append one line to the audit log, in its own transaction (it must survive a failed write)."""
        with self._tx() as s:
            s.add(
                t.AuditEntry(
                    tool=tool,
                    args=args,
                    outcome=outcome,
                    detail=detail[:2000],
                    customer_id=customer_id,
                    session_id=session_id,
                )
            )

    def audit_entries(self, *, session_id: str | None = None) -> list[dict[str, Any]]:
        with self._tx() as s:
            q = select(t.AuditEntry).order_by(t.AuditEntry.id)
            if session_id is not None:
                q = q.where(t.AuditEntry.session_id == session_id)
            return [
                {
                    "at": e.at,
                    "session_id": e.session_id,
                    "customer_id": e.customer_id,
                    "tool": e.tool,
                    "args": e.args,
                    "outcome": e.outcome,
                    "detail": e.detail,
                }
                for e in s.scalars(q)
            ]

    def snapshot(self) -> dict[str, Any]:
        """The whole shop in τ-bench's JSON shape: what final-state checks compare.

        Built from one plain query per table (not the ORM's object graph), so comparing two shops
        after a conversation costs tens of milliseconds, not seconds.
        """
        with self.engine.connect() as c:

            def rows(table: Any, *order: Any) -> list[Any]:
                return list(c.execute(select(table).order_by(*order)).mappings())

            customers = rows(t.Customer.__table__, t.Customer.id)
            methods = rows(t.PaymentMethod.__table__, t.PaymentMethod.customer_id, t.PaymentMethod.position)
            orders = rows(t.Order.__table__, t.Order.customer_id, t.Order.position)
            items = rows(t.OrderItem.__table__, t.OrderItem.order_id, t.OrderItem.position)
            fulfillments = rows(t.Fulfillment.__table__, t.Fulfillment.order_id, t.Fulfillment.position)
            payments = rows(t.Payment.__table__, t.Payment.order_id, t.Payment.position)
        by_order: dict[str, dict[str, list[Any]]] = {}
        for kind, table_rows in (("items", items), ("fulfillments", fulfillments), ("payments", payments)):
            for r in table_rows:
                by_order.setdefault(r["order_id"], {}).setdefault(kind, []).append(r)
        users: dict[str, Any] = {
            c["id"]: {
                "name": {"first_name": c["first_name"], "last_name": c["last_name"]},
                "address": {f: c[f] for f in ADDRESS_FIELDS},
                "email": c["email"],
                "payment_methods": {},
                "orders": [],
            }
            for c in customers
        }
        for m in methods:
            pm = {"source": m["source"], "id": m["id"]}
            pm.update({k: m[k] for k in ("brand", "last_four", "balance") if m[k] is not None})
            users[m["customer_id"]]["payment_methods"][m["id"]] = pm
        out_orders: dict[str, Any] = {}
        for o in sorted(orders, key=lambda r: r["id"]):
            parts = by_order.get(o["id"], {})
            data: dict[str, Any] = {
                "order_id": o["id"],
                "user_id": o["customer_id"],
                "address": {f: o[f] for f in ADDRESS_FIELDS},
                "items": [
                    {
                        "name": i["name"],
                        "product_id": i["product_id"],
                        "item_id": i["item_id"],
                        "price": i["price"],
                        "options": i["options"],
                    }
                    for i in parts.get("items", [])
                ],
                "fulfillments": [
                    {"tracking_id": f["tracking_ids"], "item_ids": f["item_ids"]}
                    for f in parts.get("fulfillments", [])
                ],
                "status": o["status"],
                "payment_history": [
                    {
                        "transaction_type": p["transaction_type"],
                        "amount": p["amount"],
                        "payment_method_id": p["payment_method_id"],
                    }
                    for p in parts.get("payments", [])
                ],
            }
            data.update({k: o[k] for k in _OPTIONAL_ORDER_FIELDS if o[k] is not None})
            out_orders[o["id"]] = data
        for o in orders:
            users[o["customer_id"]]["orders"].append(o["id"])
        return {"users": users, "orders": out_orders}

    # ---- internals ------------------------------------------------------------------------------
    @staticmethod
    def _owned_order(
        s: Session, order_id: str, customer_id: str | None, *, for_update: bool = True
    ) -> t.Order:
        # Writes lock the order's row (SELECT ... FOR UPDATE on PostgreSQL; SQLite serialises writers
        # anyway), so two replicas acting on one order at once cannot both pass the status check.
        order = s.get(t.Order, order_id, with_for_update=for_update)
        if order is None or (customer_id is not None and order.customer_id != customer_id):
            raise NotFound("order not found")
        return order

    @staticmethod
    def _customer_method(s: Session, customer_id: str, payment_method_id: str) -> t.PaymentMethod:
        method = s.get(t.PaymentMethod, payment_method_id, with_for_update=True)
        if method is None or method.customer_id != customer_id:
            raise NotFound("payment method not found")
        return method

    @staticmethod
    def _credit_gift_card(s: Session, payment_method_id: str, amount: float) -> None:
        method = s.get(t.PaymentMethod, payment_method_id, with_for_update=True)
        if method is not None and method.source == "gift_card":
            method.balance = _money((method.balance or 0.0) + amount)

    @staticmethod
    def _append_payment(order: t.Order, kind: str, amount: float, payment_method_id: str) -> None:
        order.payments.append(
            t.Payment(
                position=len(order.payments),
                transaction_type=kind,
                amount=amount,
                payment_method_id=payment_method_id,
            )
        )

    @staticmethod
    def _check_items(order: t.Order, item_ids: list[str]) -> None:
        if not item_ids:
            raise ShopError("no items given")
        have = [i.item_id for i in order.items]
        for item_id in item_ids:
            if item_ids.count(item_id) > have.count(item_id):
                raise ShopError(f"{item_id} not found")

    def _swap_prices(
        self, s: Session, order: t.Order, item_ids: list[str], new_item_ids: list[str]
    ) -> tuple[float, list[tuple[t.OrderItem, t.Variant]]]:
        self._check_items(order, item_ids)
        if len(item_ids) != len(new_item_ids):
            raise ShopError("the number of items to be exchanged should match")
        diff = 0.0
        changes: list[tuple[t.OrderItem, t.Variant]] = []
        taken: set[int] = set()
        for item_id, new_item_id in zip(item_ids, new_item_ids, strict=True):
            item = next(i for i in order.items if i.item_id == item_id and i.id not in taken)
            taken.add(item.id)
            variant = s.get(t.Variant, new_item_id)
            if variant is None or variant.product_id != item.product_id or not variant.available:
                raise ShopError(f"new item {new_item_id} not found or available")
            diff += variant.price - item.price
            changes.append((item, variant))
        return _money(diff), changes


def _payment_method(pm: t.PaymentMethod) -> dict[str, Any]:
    out: dict[str, Any] = {"source": pm.source, "id": pm.id}
    if pm.brand is not None:
        out["brand"] = pm.brand
    if pm.last_four is not None:
        out["last_four"] = pm.last_four
    if pm.balance is not None:
        out["balance"] = pm.balance
    return out


_OPTIONAL_ORDER_FIELDS = (
    "cancel_reason",
    "exchange_items",
    "exchange_new_items",
    "exchange_payment_method_id",
    "exchange_price_difference",
    "return_items",
    "return_payment_method_id",
)


def _order_json(o: t.Order) -> dict[str, Any]:
    out: dict[str, Any] = {
        "order_id": o.id,
        "user_id": o.customer_id,
        "address": {f: getattr(o, f) for f in ADDRESS_FIELDS},
        "items": [
            {
                "name": i.name,
                "product_id": i.product_id,
                "item_id": i.item_id,
                "price": i.price,
                "options": i.options,
            }
            for i in o.items
        ],
        "fulfillments": [{"tracking_id": f.tracking_ids, "item_ids": f.item_ids} for f in o.fulfillments],
        "status": o.status,
        "payment_history": [
            {
                "transaction_type": p.transaction_type,
                "amount": p.amount,
                "payment_method_id": p.payment_method_id,
            }
            for p in o.payments
        ],
    }
    optional = {
        "cancel_reason": o.cancel_reason,
        "exchange_items": o.exchange_items,
        "exchange_new_items": o.exchange_new_items,
        "exchange_payment_method_id": o.exchange_payment_method_id,
        "exchange_price_difference": o.exchange_price_difference,
        "return_items": o.return_items,
        "return_payment_method_id": o.return_payment_method_id,
    }
    out.update({k: v for k, v in optional.items() if v is not None})
    return out
