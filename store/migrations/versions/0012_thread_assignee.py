"""Threads have an assignee: the agent working on it (take, assign, release), for a team.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 21:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("threads", sa.Column("assignee", sa.String(128), nullable=True))
    op.create_index("ix_threads_assignee", "threads", ["assignee"])


def downgrade() -> None:
    op.drop_index("ix_threads_assignee", table_name="threads")
    op.drop_column("threads", "assignee")
