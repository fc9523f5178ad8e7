"""Which process polls a marketplace's inbox: a PostgreSQL session advisory lock per marketplace,
held on a connection of its own by the poller that works (tools/mirakl/poller.py). A session
lock ends with its session, so a process that dies hands polling to the next one."""

from __future__ import annotations

import contextlib
import zlib

from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.orm import Session

LOCK_CLASS = 0x6373_6167  # "csag": the poller locks' own key space (two-int advisory locks)


def lock_id(stored_marketplace: str) -> int:
    """The second key of one marketplace's poller lock (a signed 32-bit int)."""
    value = zlib.crc32(f"mirakl-poller:{stored_marketplace}".encode())
    return value - 2**32 if value >= 2**31 else value


def try_poller_lock(engine: Engine, stored_marketplace: str) -> Connection | None:
    """A connection holding the marketplace's poller lock, or None when another session holds
    it. Closing the connection releases the lock."""
    connection = engine.connect()
    try:
        got = connection.scalar(
            select(func.pg_try_advisory_lock(LOCK_CLASS, lock_id(stored_marketplace)))
        )
        connection.commit()
    except Exception:
        connection.close()
        raise
    if not got:
        connection.close()
        return None
    return connection


def poller_pid(session: Session, stored_marketplace: str) -> int | None:
    """The PostgreSQL backend pid holding that marketplace's poller lock (None: nobody polls)."""
    pid = session.scalar(
        text(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND classid::bigint = :cls AND objid::bigint = :obj AND objsubid = 2"
        ),
        {"cls": LOCK_CLASS, "obj": lock_id(stored_marketplace) % 2**32},
    )
    return int(pid) if pid is not None else None


def release_poller_lock(connection: Connection) -> None:
    """End the lock's session: a pooled connection would otherwise keep holding the lock."""
    with contextlib.suppress(Exception):  # a dead connection has released it already
        connection.invalidate()  # closes the database session, not just back to the pool
    with contextlib.suppress(Exception):
        connection.close()


def still_held(lock: Connection) -> bool:
    """Whether the connection holding a poller lock is still alive (its lock with it)."""
    try:
        lock.scalar(select(1))
        lock.commit()
        return True
    except Exception:
        return False
