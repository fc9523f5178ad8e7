"""Confirmations: what csagent asked a customer to confirm before cancelling an order or
redirecting a parcel, and the answer.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 17:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "confirmations",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column(
            "thread_id",
            sa.BigInteger(),
            sa.ForeignKey("threads.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("order_id", sa.String(128), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("details", JSONB(), server_default="{}", nullable=False),
        sa.Column("language", sa.String(8), server_default="en", nullable=False),
        sa.Column("requested_by", sa.String(128), nullable=False),
        sa.Column("requested_at", TZ, nullable=False),
        sa.Column("asked_at", TZ, server_default=sa.func.now(), nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("status", sa.String(16), server_default="pending", nullable=False),
        sa.Column("answered_by", sa.String(128)),
        sa.Column("answered_at", TZ),
        sa.Column("outcome", sa.Text()),
        sa.CheckConstraint(
            "action IN ('cancel_order', 'cancel_lines', 'update_address')",
            name=op.f("ck_confirmations_action_known"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'confirmed', 'declined', 'unclear', 'expired', 'superseded')",
            name=op.f("ck_confirmations_status_known"),
        ),
        sa.UniqueConstraint(
            "thread_id", "requested_by", name=op.f("uq_confirmations_thread_request")
        ),
    )
    op.create_index("ix_confirmations_thread_id", "confirmations", ["thread_id"])


def downgrade() -> None:
    op.drop_index("ix_confirmations_thread_id", table_name="confirmations")
    op.drop_table("confirmations")
