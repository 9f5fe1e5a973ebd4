"""The server's console store as kefu 0.x made it: conversations, the transcript, ratings, suggestions.

Revision ID: 0001_console
Revises: -
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_console"
down_revision = None
branch_labels = ("console",)
depends_on = None

TABLES = ("kefu_conversations", "kefu_messages", "kefu_ratings", "kefu_suggestions")


def upgrade() -> None:
    # A database made by kefu before migrations existed already has some or all of these tables:
    # create only what is missing, so the upgrade adopts it in place.
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "kefu_conversations" not in existing:
        op.create_table(
            "kefu_conversations",
            sa.Column("session_id", sa.String(length=128), nullable=False),
            sa.Column("status", sa.String(length=16), nullable=False),
            sa.Column("channel", sa.String(length=16), nullable=False),
            sa.Column("customer_id", sa.String(length=64), nullable=True),
            sa.Column("customer_via", sa.String(length=16), nullable=True),
            sa.Column("operator", sa.String(length=100), nullable=True),
            sa.Column("handoff_reason", sa.String(length=500), nullable=True),
            sa.Column("escalated", sa.Integer(), nullable=False),
            sa.Column("turns", sa.Integer(), nullable=False),
            sa.Column("last_text", sa.String(length=200), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True),
            sa.PrimaryKeyConstraint("session_id"),
        )
        op.create_index(op.f("ix_kefu_conversations_status"), "kefu_conversations", ["status"], unique=False)
        op.create_index(
            op.f("ix_kefu_conversations_updated_at"), "kefu_conversations", ["updated_at"], unique=False
        )
    if "kefu_messages" not in existing:
        op.create_table(
            "kefu_messages",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("session_id", sa.String(length=128), nullable=False),
            sa.Column("author", sa.String(length=16), nullable=False),
            sa.Column("text", sa.Text(), nullable=False),
            sa.Column("operator", sa.String(length=100), nullable=True),
            sa.Column("intent", sa.String(length=64), nullable=True),
            sa.Column("details", sa.JSON(), nullable=False),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(op.f("ix_kefu_messages_intent"), "kefu_messages", ["intent"], unique=False)
        op.create_index(op.f("ix_kefu_messages_session_id"), "kefu_messages", ["session_id"], unique=False)
    if "kefu_ratings" not in existing:
        op.create_table(
            "kefu_ratings",
            sa.Column("message_id", sa.Integer(), nullable=False),
            sa.Column("session_id", sa.String(length=128), nullable=False),
            sa.Column("score", sa.Integer(), nullable=False),
            sa.Column("comment", sa.String(length=1000), nullable=True),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("message_id"),
        )
        op.create_index(op.f("ix_kefu_ratings_session_id"), "kefu_ratings", ["session_id"], unique=False)
    if "kefu_suggestions" not in existing:
        op.create_table(
            "kefu_suggestions",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("session_id", sa.String(length=128), nullable=False),
            sa.Column("product_id", sa.String(length=64), nullable=False),
            sa.Column("message_id", sa.Integer(), nullable=False),
            sa.Column("shown_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("accepted_via", sa.String(length=16), nullable=True),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("session_id", "product_id"),
        )
        op.create_index(
            op.f("ix_kefu_suggestions_session_id"), "kefu_suggestions", ["session_id"], unique=False
        )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
