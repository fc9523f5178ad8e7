"""Mirakl's reply clock and the poller's progress.

- `threads.reply_needed_since`: Mirakl's `metadata.shop_reply_needed_since` as last read (the
  date since which the shop owes a reply; null when nothing is owed), and
  `threads.reply_clock_read_at`: when it was read (null: never read from Mirakl, the deadline is
  csagent's own estimate from the stored messages).
- `sync_cursors.checked_at`: when the last complete pass started (everything Mirakl changed
  before it has been read): the poller's lag is measured from it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("threads", sa.Column("reply_needed_since", sa.DateTime(timezone=True)))
    op.add_column("threads", sa.Column("reply_clock_read_at", sa.DateTime(timezone=True)))
    op.add_column("sync_cursors", sa.Column("checked_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("sync_cursors", "checked_at")
    op.drop_column("threads", "reply_clock_read_at")
    op.drop_column("threads", "reply_needed_since")
