"""Knowledge-base collections: the embeddings each chunk table was built with.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 05:33:05.235782
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kb_collections",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("embeddings_kind", sa.String(length=16), nullable=False),
        sa.Column("embeddings_model", sa.String(length=128), nullable=False),
        sa.Column("dimension", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_kb_collections")),
        sa.UniqueConstraint("table_name", name=op.f("uq_kb_collections_table_name")),
    )


def downgrade() -> None:
    # The chunk tables are created by `csagent kb ingest` (their vector size depends on the
    # embeddings); they go with the registry that lists them.
    connection = op.get_bind()
    for (table,) in connection.execute(sa.text("SELECT table_name FROM kb_collections")):
        op.execute(sa.text(f'DROP TABLE IF EXISTS "{table}"'))
    op.drop_table("kb_collections")
