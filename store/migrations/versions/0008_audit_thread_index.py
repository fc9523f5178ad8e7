"""Index the audit log by thread (payload->>'thread'): the inbox and the thread view look up a
thread's audit rows (its latest close, its trail) on every read.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 03:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE INDEX ix_audit_log_thread ON audit_log ((payload ->> 'thread'), action)")


def downgrade() -> None:
    op.execute("DROP INDEX ix_audit_log_thread")
