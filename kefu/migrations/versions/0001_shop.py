"""The shop's tables as kefu 0.x made them: customers, payment methods, products, variants, orders and\ntheir parts, the audit log and the event table.

Revision ID: 0001_shop
Revises: -
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_shop"
down_revision = None
branch_labels = ("shop",)
depends_on = None

TABLES = (
    "audit_log",
    "customers",
    "events",
    "products",
    "orders",
    "payment_methods",
    "variants",
    "fulfillments",
    "order_items",
    "payments",
)


def upgrade() -> None:
    # A database made by kefu before migrations existed already has some or all of these tables:
    # create only what is missing, so the upgrade adopts it in place.
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "audit_log" not in existing:
        op.create_table(
            "audit_log",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("session_id", sa.String(length=200), nullable=True),
            sa.Column("customer_id", sa.String(length=64), nullable=True),
            sa.Column("tool", sa.String(length=100), nullable=False),
            sa.Column("args", sa.JSON(), nullable=False),
            sa.Column("outcome", sa.String(length=20), nullable=False),
            sa.Column("detail", sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(op.f("ix_audit_log_customer_id"), "audit_log", ["customer_id"], unique=False)
        op.create_index(op.f("ix_audit_log_session_id"), "audit_log", ["session_id"], unique=False)
    if "customers" not in existing:
        op.create_table(
            "customers",
            sa.Column("id", sa.String(length=64), nullable=False),
            sa.Column("first_name", sa.String(length=100), nullable=False),
            sa.Column("last_name", sa.String(length=100), nullable=False),
            sa.Column("email", sa.String(length=200), nullable=False),
            sa.Column("address1", sa.String(length=200), nullable=False),
            sa.Column("address2", sa.String(length=200), nullable=False),
            sa.Column("city", sa.String(length=100), nullable=False),
            sa.Column("state", sa.String(length=50), nullable=False),
            sa.Column("country", sa.String(length=50), nullable=False),
            sa.Column("zip", sa.String(length=20), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(op.f("ix_customers_email"), "customers", ["email"], unique=True)
        op.create_index(op.f("ix_customers_zip"), "customers", ["zip"], unique=False)
    if "events" not in existing:
        op.create_table(
            "events",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("kind", sa.String(length=40), nullable=False),
            sa.Column("session_id", sa.String(length=200), nullable=True),
            sa.Column("customer_id", sa.String(length=64), nullable=True),
            sa.Column("item_id", sa.String(length=64), nullable=True),
            sa.Column("weight", sa.Float(), nullable=False),
            sa.Column("payload", sa.JSON(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(op.f("ix_events_at"), "events", ["at"], unique=False)
        op.create_index(op.f("ix_events_customer_id"), "events", ["customer_id"], unique=False)
        op.create_index(op.f("ix_events_kind"), "events", ["kind"], unique=False)
        op.create_index(op.f("ix_events_session_id"), "events", ["session_id"], unique=False)
    if "products" not in existing:
        op.create_table(
            "products",
            sa.Column("id", sa.String(length=32), nullable=False),
            sa.Column("name", sa.String(length=200), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(op.f("ix_products_name"), "products", ["name"], unique=False)
    if "orders" not in existing:
        op.create_table(
            "orders",
            sa.Column("id", sa.String(length=32), nullable=False),
            sa.Column("customer_id", sa.String(length=64), nullable=False),
            sa.Column("position", sa.Integer(), nullable=False),
            sa.Column("status", sa.String(length=40), nullable=False),
            sa.Column("address1", sa.String(length=200), nullable=False),
            sa.Column("address2", sa.String(length=200), nullable=False),
            sa.Column("city", sa.String(length=100), nullable=False),
            sa.Column("state", sa.String(length=50), nullable=False),
            sa.Column("country", sa.String(length=50), nullable=False),
            sa.Column("zip", sa.String(length=20), nullable=False),
            sa.Column("cancel_reason", sa.String(length=40), nullable=True),
            sa.Column("exchange_items", sa.JSON(), nullable=True),
            sa.Column("exchange_new_items", sa.JSON(), nullable=True),
            sa.Column("exchange_payment_method_id", sa.String(length=64), nullable=True),
            sa.Column("exchange_price_difference", sa.Float(), nullable=True),
            sa.Column("return_items", sa.JSON(), nullable=True),
            sa.Column("return_payment_method_id", sa.String(length=64), nullable=True),
            sa.ForeignKeyConstraint(
                ["customer_id"],
                ["customers.id"],
            ),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(op.f("ix_orders_customer_id"), "orders", ["customer_id"], unique=False)
    if "payment_methods" not in existing:
        op.create_table(
            "payment_methods",
            sa.Column("id", sa.String(length=64), nullable=False),
            sa.Column("customer_id", sa.String(length=64), nullable=False),
            sa.Column("position", sa.Integer(), nullable=False),
            sa.Column("source", sa.String(length=30), nullable=False),
            sa.Column("brand", sa.String(length=30), nullable=True),
            sa.Column("last_four", sa.String(length=4), nullable=True),
            sa.Column("balance", sa.Float(), nullable=True),
            sa.ForeignKeyConstraint(
                ["customer_id"],
                ["customers.id"],
            ),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(
            op.f("ix_payment_methods_customer_id"), "payment_methods", ["customer_id"], unique=False
        )
    if "variants" not in existing:
        op.create_table(
            "variants",
            sa.Column("item_id", sa.String(length=32), nullable=False),
            sa.Column("product_id", sa.String(length=32), nullable=False),
            sa.Column("position", sa.Integer(), nullable=False),
            sa.Column("options", sa.JSON(), nullable=False),
            sa.Column("available", sa.Boolean(), nullable=False),
            sa.Column("price", sa.Float(), nullable=False),
            sa.ForeignKeyConstraint(
                ["product_id"],
                ["products.id"],
            ),
            sa.PrimaryKeyConstraint("item_id"),
        )
        op.create_index(op.f("ix_variants_product_id"), "variants", ["product_id"], unique=False)
    if "fulfillments" not in existing:
        op.create_table(
            "fulfillments",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("order_id", sa.String(length=32), nullable=False),
            sa.Column("position", sa.Integer(), nullable=False),
            sa.Column("tracking_ids", sa.JSON(), nullable=False),
            sa.Column("item_ids", sa.JSON(), nullable=False),
            sa.ForeignKeyConstraint(
                ["order_id"],
                ["orders.id"],
            ),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(op.f("ix_fulfillments_order_id"), "fulfillments", ["order_id"], unique=False)
    if "order_items" not in existing:
        op.create_table(
            "order_items",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("order_id", sa.String(length=32), nullable=False),
            sa.Column("position", sa.Integer(), nullable=False),
            sa.Column("item_id", sa.String(length=32), nullable=False),
            sa.Column("product_id", sa.String(length=32), nullable=False),
            sa.Column("name", sa.String(length=200), nullable=False),
            sa.Column("price", sa.Float(), nullable=False),
            sa.Column("options", sa.JSON(), nullable=False),
            sa.ForeignKeyConstraint(
                ["order_id"],
                ["orders.id"],
            ),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(op.f("ix_order_items_order_id"), "order_items", ["order_id"], unique=False)
    if "payments" not in existing:
        op.create_table(
            "payments",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("order_id", sa.String(length=32), nullable=False),
            sa.Column("position", sa.Integer(), nullable=False),
            sa.Column("transaction_type", sa.String(length=20), nullable=False),
            sa.Column("amount", sa.Float(), nullable=False),
            sa.Column("payment_method_id", sa.String(length=64), nullable=False),
            sa.ForeignKeyConstraint(
                ["order_id"],
                ["orders.id"],
            ),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(op.f("ix_payments_order_id"), "payments", ["order_id"], unique=False)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
