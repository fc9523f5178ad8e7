"""When an agent last opened a thread: a customer message after it is unread.

Threads stored before this revision count as read now, so only what arrives later is marked.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 21:35:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("threads", sa.Column("read_by_agents_at", sa.DateTime(timezone=True)))
    op.execute("UPDATE threads SET read_by_agents_at = now()")


def downgrade() -> None:
    op.drop_column("threads", "read_by_agents_at")
