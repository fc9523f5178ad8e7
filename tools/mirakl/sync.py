"""Reconciliation: webhooks get lost, so `csagent sync` reads the Mirakl inbox and feeds every
customer message csagent has not seen through the ingestion path (duplicates are harmless).

The cursor (newest `date_updated` read) advances only after a whole pass succeeded.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from store.ingest import IncomingMessage
from store.models import InboundEvent, Message, SyncCursor
from tools.mirakl.client import MiraklClient
from tools.mirakl.events import incoming_from_mirakl

CURSOR = "mirakl_inbox"

# Ingests one message; may return its outcome status ("failed" is counted as such).
Ingest = Callable[[IncomingMessage], object]
SessionFactory = Callable[[], AbstractContextManager[Session]]


@dataclass
class SyncReport:
    cursor_before: datetime | None
    cursor_after: datetime | None
    threads_seen: int = 0
    customer_messages: int = 0
    ingested: int = 0
    already_known: int = 0
    failed: int = 0  # stored, but their processing failed: `csagent events retry` re-runs them


def read_cursor(session: Session) -> datetime | None:
    return session.scalar(select(SyncCursor.position).where(SyncCursor.name == CURSOR))


def write_cursor(session: Session, position: datetime) -> None:
    """Move the cursor forward (never back)."""
    statement = insert(SyncCursor).values(name=CURSOR, position=position)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["name"],
            set_={"position": statement.excluded.position},
            where=SyncCursor.position < statement.excluded.position,
        )
    )


def failed_message_ids(session: Session, ids: list[str]) -> set[str]:
    """Messages whose event failed for good: stored and visible, but not done."""
    if not ids:
        return set()
    found = session.scalars(
        select(InboundEvent.dedupe_key).where(
            InboundEvent.dedupe_key.in_(ids), InboundEvent.status == "failed"
        )
    )
    return set(found)


def known_message_ids(session: Session, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    found = session.scalars(
        select(Message.mirakl_message_id).where(Message.mirakl_message_id.in_(ids))
    )
    return set(found)


async def sync_inbox(
    client: MiraklClient,
    session_factory: SessionFactory,
    ingest: Ingest,
    *,
    since: datetime | None = None,
    page_size: int = 100,
) -> SyncReport:
    """One reconciliation pass; `since` overrides the stored cursor."""
    with session_factory() as session:
        stored = read_cursor(session)
    start = since or stored
    report = SyncReport(cursor_before=start, cursor_after=start)
    newest = start
    async for thread in client.iter_threads(
        updated_since=start, with_messages=True, limit=page_size
    ):
        report.threads_seen += 1
        customer = sorted(
            (m for m in thread.messages if m.sender.type == "CUSTOMER"),
            key=lambda m: m.date_created,
        )
        report.customer_messages += len(customer)
        ids = [m.id for m in customer]
        with session_factory() as session:
            known = known_message_ids(session, ids)
            failed = failed_message_ids(session, ids)
        for message in customer:
            if message.id in failed:
                report.failed += 1
                continue
            if message.id in known:
                report.already_known += 1
                continue
            status = ingest(incoming_from_mirakl(thread, message))
            if status == "failed":  # stored, but its processing failed: not done
                report.failed += 1
            else:
                report.ingested += 1
        updated = thread.date_updated or thread.date_created
        if newest is None or updated > newest:
            newest = updated
    if newest is not None and newest != stored:
        with session_factory() as session:
            write_cursor(session, newest)
    report.cursor_after = newest
    return report
