"""Alembic environment: runs on the connection csagent hands over (see store.migrate)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from store.db import resolve_database_url, sqlalchemy_url
from store.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    # Invoked by the plain `alembic` command (e.g. autogenerate): use csagent's configured database.
    engine = create_engine(sqlalchemy_url(resolve_database_url()))
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("csagent migrations run online only: use `csagent db upgrade`.")
run_migrations_online()
