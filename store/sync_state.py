"""What the reconciliation with Mirakl keeps between passes: how far each inbox was read (the
cursors), and which messages and orders csagent already has."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from store.ingest import INBOX_CURSOR
from store.models import InboundEvent, Message, Order, SyncCursor
from store.threads import scoped


def read_cursor(session: Session, name: str = INBOX_CURSOR) -> datetime | None:
    return session.scalar(select(SyncCursor.position).where(SyncCursor.name == name))


def write_cursor(
    session: Session,
    position: datetime,
    name: str = INBOX_CURSOR,
    *,
    checked_at: datetime | None = None,
) -> None:
    """Move the cursor forward (never back); `checked_at`: when the complete pass that read up
    to it started (the lag is measured from it)."""
    statement = insert(SyncCursor).values(name=name, position=position, checked_at=checked_at)
    new = statement.excluded
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["name"],
            set_={
                "position": func.greatest(SyncCursor.position, new.position),
                "checked_at": func.greatest(SyncCursor.checked_at, new.checked_at),
            },
        )
    )


def failed_message_ids(session: Session, ids: list[str], marketplace: str) -> set[str]:
    """Messages whose event failed for good: stored and visible, but not done."""
    if not ids:
        return set()
    keys = {scoped(marketplace, i): i for i in ids}
    found = session.scalars(
        select(InboundEvent.dedupe_key).where(
            InboundEvent.dedupe_key.in_(list(keys)), InboundEvent.status == "failed"
        )
    )
    return {keys[k] for k in found}


def known_message_ids(session: Session, ids: list[str], marketplace: str) -> set[str]:
    if not ids:
        return set()
    found = session.scalars(
        select(Message.mirakl_message_id).where(
            Message.marketplace == marketplace, Message.mirakl_message_id.in_(ids)
        )
    )
    return set(found)


def referenced_order_ids(session: Session, marketplace: str) -> list[str]:
    """Orders csagent knows only by id (named by a message or the V1 import, never read)."""
    return list(
        session.scalars(
            select(Order.mirakl_order_id)
            .where(Order.source == "reference", Order.marketplace == marketplace)
            .order_by(Order.mirakl_order_id)
        )
    )
