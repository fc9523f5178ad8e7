"""The schema is created, removed and recreated only through Alembic migrations."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from store import migrate
from store.db import with_database
from store.models import Base

EXPECTED_TABLES = {
    "customers", "orders", "order_lines", "shipments", "threads", "messages",
    "inbound_events", "processing_attempts", "audit_log", "inventory", "order_costs", "sync_cursors", "kb_collections", "users", "confirmations", "thread_notes", "thread_presence", "reply_drafts",
}  # fmt: skip


@pytest.fixture
def empty_database(server_url: str) -> Iterator[str]:
    """A brand-new database on the session's server, dropped afterwards."""
    name = f"csagent_mig_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = with_database(server_url, name)
    yield url
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    return {r[0] for r in rows} - {"alembic_version"}


def has_vector_extension(url: str) -> bool:
    with psycopg.connect(url) as conn:
        return (
            conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone()
            is not None
        )


def test_upgrade_from_empty_creates_every_table_and_pgvector(empty_database: str) -> None:
    assert tables(empty_database) == set()
    migrate.upgrade(empty_database)
    assert tables(empty_database) == EXPECTED_TABLES
    assert has_vector_extension(empty_database)
    assert migrate.current_revision(empty_database) == migrate.head_revision()


def test_upgrade_twice_is_a_no_op(empty_database: str) -> None:
    migrate.upgrade(empty_database)
    migrate.upgrade(empty_database)
    assert tables(empty_database) == EXPECTED_TABLES


def test_downgrade_to_base_then_upgrade_again(empty_database: str) -> None:
    migrate.upgrade(empty_database)
    migrate.downgrade(empty_database, "base")
    assert tables(empty_database) == set()
    assert migrate.current_revision(empty_database) is None
    migrate.upgrade(empty_database)
    assert tables(empty_database) == EXPECTED_TABLES


def test_models_and_migrations_agree(empty_database: str) -> None:
    """A model change without a migration would make autogenerate find differences."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine

    from store.db import sqlalchemy_url

    migrate.upgrade(empty_database)
    engine = create_engine(sqlalchemy_url(empty_database))
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []
