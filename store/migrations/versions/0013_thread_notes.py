"""Internal notes on a thread: written by agents for agents, never sent to Mirakl.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 21:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "thread_notes",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column(
            "thread_id",
            sa.BigInteger(),
            sa.ForeignKey("threads.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("author", sa.String(128), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_index("ix_thread_notes_thread_id", "thread_notes", ["thread_id"])


def downgrade() -> None:
    op.drop_index("ix_thread_notes_thread_id", table_name="thread_notes")
    op.drop_table("thread_notes")
