"""Snooze: a thread put aside until a time; it comes back then, or when the customer writes.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 21:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("threads", sa.Column("snoozed_until", sa.DateTime(timezone=True)))
    op.add_column("threads", sa.Column("snoozed_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("threads", "snoozed_at")
    op.drop_column("threads", "snoozed_until")
