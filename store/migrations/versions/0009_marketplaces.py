"""Several marketplaces: every customer, order, thread, message, audit row and inbound event
belongs to one marketplace, and Mirakl's ids are unique per marketplace, not globally.

Existing rows belong to `default`, the name the database gives the default marketplace whatever
its connection is called (their audit keys and checkpoints stay valid). The free-text
`marketplace` column threads and orders had (the channel a webhook or Mirakl named) is `channel`.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 06:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("customers", "orders", "threads", "messages", "audit_log", "inbound_events")
# (table, Mirakl id column): unique per marketplace from now on.
PER_MARKETPLACE = (
    ("customers", "mirakl_customer_id"),
    ("orders", "mirakl_order_id"),
    ("threads", "mirakl_thread_id"),
    ("messages", "mirakl_message_id"),
)


def upgrade() -> None:
    op.alter_column("threads", "marketplace", new_column_name="channel")
    op.alter_column("orders", "marketplace", new_column_name="channel")
    for table in TABLES:
        op.add_column(
            table,
            sa.Column("marketplace", sa.String(32), server_default="default", nullable=False),
        )
    for table, column in PER_MARKETPLACE:
        op.drop_constraint(f"uq_{table}_{column}", table, type_="unique")
        op.create_unique_constraint(
            f"uq_{table}_marketplace_{column}", table, ["marketplace", column]
        )
    # Order lines are the order's: their ids are unique within it.
    op.drop_constraint("uq_order_lines_mirakl_order_line_id", "order_lines", type_="unique")
    op.create_unique_constraint(
        "uq_order_lines_order_id_mirakl_order_line_id",
        "order_lines",
        ["order_id", "mirakl_order_line_id"],
    )
    op.execute("DROP INDEX ix_audit_log_thread")
    op.execute(
        "CREATE INDEX ix_audit_log_thread ON audit_log (marketplace, (payload ->> 'thread'), action)"
    )
    # A queue lane is now `<marketplace>/<thread id>`.
    op.alter_column("inbound_events", "thread_key", type_=sa.String(200))


def downgrade() -> None:
    others = op.get_bind().execute(
        sa.text(
            "SELECT count(*) FROM threads WHERE marketplace <> 'default' UNION ALL "
            "SELECT count(*) FROM orders WHERE marketplace <> 'default'"
        )
    )
    if any(n for (n,) in others):
        raise RuntimeError(
            "rows of marketplaces other than the default one exist: downgrading would merge "
            "them into the default marketplace; export or delete them first"
        )
    op.alter_column("inbound_events", "thread_key", type_=sa.String(128))
    op.execute("DROP INDEX ix_audit_log_thread")
    op.execute("CREATE INDEX ix_audit_log_thread ON audit_log ((payload ->> 'thread'), action)")
    op.drop_constraint(
        "uq_order_lines_order_id_mirakl_order_line_id", "order_lines", type_="unique"
    )
    op.create_unique_constraint(
        "uq_order_lines_mirakl_order_line_id", "order_lines", ["mirakl_order_line_id"]
    )
    for table, column in PER_MARKETPLACE:
        op.drop_constraint(f"uq_{table}_marketplace_{column}", table, type_="unique")
        op.create_unique_constraint(f"uq_{table}_{column}", table, [column])
    for table in TABLES:
        op.drop_column(table, "marketplace")
    op.alter_column("orders", "channel", new_column_name="marketplace")
    op.alter_column("threads", "channel", new_column_name="marketplace")
