"""The database itself refuses data that would break integrity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store.models import Message, Thread

NOW = datetime(2026, 11, 20, 9, 14, 3, tzinfo=UTC)


def make_thread(session: Session, mirakl_id: str = "t-1") -> Thread:
    thread = Thread(mirakl_thread_id=mirakl_id)
    session.add(thread)
    session.flush()
    return thread


def inbound(thread_id: int, mirakl_id: str, **extra: object) -> Message:
    values: dict[str, object] = {
        "mirakl_message_id": mirakl_id,
        "thread_id": thread_id,
        "direction": "inbound",
        "author_type": "CUSTOMER",
        "body": "Où est ma commande ?",
        "created_at": NOW,
    }
    values.update(extra)
    return Message(**values)


def test_duplicate_mirakl_message_id_is_rejected(session: Session) -> None:
    thread = make_thread(session)
    session.add(inbound(thread.id, "m-1"))
    session.flush()
    session.add(inbound(thread.id, "m-1", body="the same id again"))
    with pytest.raises(IntegrityError, match="uq_messages_marketplace_mirakl_message_id"):
        session.flush()


def test_message_without_thread_is_rejected(session: Session) -> None:
    session.add(inbound(999_999, "m-orphan"))
    with pytest.raises(IntegrityError, match="fk_messages_thread_id_threads"):
        session.flush()


def test_duplicate_mirakl_thread_id_is_rejected(session: Session) -> None:
    make_thread(session, "t-dup")
    with pytest.raises(IntegrityError, match="uq_threads_marketplace_mirakl_thread_id"):
        make_thread(session, "t-dup")


def test_the_same_mirakl_ids_on_two_marketplaces_are_two_rows(session: Session) -> None:
    first = make_thread(session, "t-both")
    other = Thread(mirakl_thread_id="t-both", marketplace="carrefour")
    session.add(other)
    session.flush()
    session.add(inbound(first.id, "m-both"))
    session.add(inbound(other.id, "m-both", marketplace="carrefour"))
    session.flush()
    assert first.id != other.id


def test_delivery_status_belongs_to_outbound_messages_only(session: Session) -> None:
    thread = make_thread(session)
    session.add(inbound(thread.id, "m-2", delivery_status="sent"))
    with pytest.raises(IntegrityError, match="delivery_status_outbound_only"):
        session.flush()


def test_unknown_thread_status_is_rejected(session: Session) -> None:
    session.add(Thread(mirakl_thread_id="t-bad", status="whatever"))
    with pytest.raises(IntegrityError, match="ck_threads_status_known"):
        session.flush()


def test_timestamps_keep_their_instant_across_time_zones(session: Session) -> None:
    thread = make_thread(session)
    paris = timezone(timedelta(hours=1))
    session.add(
        inbound(thread.id, "m-tz", created_at=datetime(2026, 11, 20, 10, 14, 3, tzinfo=paris))
    )
    session.flush()
    stored = session.scalar(select(Message.created_at).where(Message.mirakl_message_id == "m-tz"))
    assert stored == NOW
    assert stored is not None and stored.tzinfo is not None
