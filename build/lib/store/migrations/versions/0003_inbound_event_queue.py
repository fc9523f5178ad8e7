"""Inbound events become a queue: thread key and message time for in-order, per-thread processing.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 05:11:10.575874
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("inbound_events", sa.Column("thread_key", sa.String(length=128), nullable=True))
    op.add_column(
        "inbound_events", sa.Column("message_created_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "inbound_events", sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index(
        "ix_inbound_events_queue",
        "inbound_events",
        ["status", "thread_key", "message_created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_inbound_events_queue", table_name="inbound_events")
    op.drop_column("inbound_events", "next_attempt_at")
    op.drop_column("inbound_events", "message_created_at")
    op.drop_column("inbound_events", "thread_key")
