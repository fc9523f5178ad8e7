"""Replies being written, kept on the server per thread and agent: a reply half-written for
one customer comes back with that customer's thread, after a reload or on another computer,
and never shows on another thread.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 00:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reply_drafts",
        sa.Column(
            "thread_id",
            sa.BigInteger(),
            sa.ForeignKey("threads.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("agent", sa.String(128), primary_key=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("reply_drafts")
