"""Threads carry tags the agents give them ("damaged", "vip", "carrier-claim"), to find and
group work.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 00:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "threads",
        sa.Column(
            "tags",
            postgresql.ARRAY(sa.String(40)),
            server_default=sa.text("'{}'::varchar[]"),
            nullable=False,
        ),
    )
    op.create_index("ix_threads_tags", "threads", ["tags"], postgresql_using="gin")


def downgrade() -> None:
    op.drop_index("ix_threads_tags", table_name="threads")
    op.drop_column("threads", "tags")
