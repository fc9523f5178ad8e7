"""Threads whose message failed to process stay visible: status needs_attention, with the reason.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 01:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "status IN ('open', 'awaiting_approval', 'answered', 'escalated', 'closed')"
NEW = (
    "status IN ('open', 'awaiting_approval', 'needs_attention', 'answered', 'escalated', 'closed')"
)


def upgrade() -> None:
    op.add_column("threads", sa.Column("attention", sa.Text(), nullable=True))
    op.drop_constraint(op.f("ck_threads_status_known"), "threads", type_="check")
    op.create_check_constraint(op.f("ck_threads_status_known"), "threads", NEW)


def downgrade() -> None:
    op.execute("UPDATE threads SET status = 'open' WHERE status = 'needs_attention'")
    op.drop_constraint(op.f("ck_threads_status_known"), "threads", type_="check")
    op.create_check_constraint(op.f("ck_threads_status_known"), "threads", OLD)
    op.drop_column("threads", "attention")
