"""Idempotency keys of `POST /v1/sessions/{id}/messages`: a retried request returns the first response.

Revision ID: 0002_console_idempotency
Revises: 0001_console
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_console_idempotency"
down_revision = "0001_console"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kefu_idempotency",
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key"),
    )
    op.create_index(op.f("ix_kefu_idempotency_created_at"), "kefu_idempotency", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_table("kefu_idempotency")
