"""Where an order's facts came from and when they were read; processing attempts that survive a
crash.

- orders.source ('mirakl' when read from Mirakl's API, 'seed' for the internal API's demo data,
  'reference' for an id known only from a message or the V1 import) and orders.fetched_at
  (renamed from synced_at: when those facts were read).
- messages.verification: 'unverified' for a customer message Mirakl does not confirm (kept and
  shown, never read into a conversation), 'verified' once Mirakl's copy was read, NULL before.
- processing_attempts: one row per start of an event's processing, committed before the work, so
  a message that kills its process is counted and stops being retried after the limit.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("orders", "synced_at", new_column_name="fetched_at")
    op.add_column(
        "orders",
        sa.Column("source", sa.String(16), nullable=False, server_default="reference"),
    )
    op.execute("UPDATE orders SET source = 'seed' WHERE state IS NOT NULL")
    op.add_column("messages", sa.Column("verification", sa.String(16), nullable=True))
    # No foreign key on purpose: the processing transaction holds the event row FOR UPDATE, and
    # a key check from this separate, already committed insert would wait for it.
    op.create_table(
        "processing_attempts",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "started_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("pid", sa.Integer(), nullable=True),
    )
    op.create_index(
        "ix_processing_attempts_event_id", "processing_attempts", ["event_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("processing_attempts")
    op.drop_column("messages", "verification")
    op.drop_column("orders", "source")
    op.alter_column("orders", "fetched_at", new_column_name="synced_at")
