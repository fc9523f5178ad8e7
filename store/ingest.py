"""The one way a new customer message enters the system of record (webhook, sync, simulator).

The raw event is recorded first, keyed by the Mirakl message id, so a duplicate delivery returns
the first outcome and does no work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from store.models import Customer, InboundEvent, Message, Order, Thread
from store.threads import get_or_create, link_order, refresh_thread_summary


class CustomerRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=128, description="Mirakl customer id.")
    name: str | None = Field(default=None, max_length=256, description="Display name.")


class IncomingMessage(BaseModel):
    """A new customer message, as the webhook sender (n8n) posts it."""

    model_config = ConfigDict(extra="forbid")

    thread_id: str = Field(min_length=1, max_length=128, description="Mirakl thread id.")
    message_id: str = Field(min_length=1, max_length=128, description="Mirakl message id.")
    body: str = Field(min_length=1, max_length=20000)
    created_at: AwareDatetime = Field(description="ISO-8601 with a time-zone offset.")
    order_id: str | None = Field(default=None, max_length=64, description="Mirakl order id.")
    customer: CustomerRef
    topic: str | None = Field(default=None, max_length=1000)
    locale: str | None = Field(default=None, max_length=16)
    marketplace: str | None = Field(default=None, max_length=64)


@dataclass(frozen=True)
class IngestResult:
    event_id: int
    thread_id: str
    status: str
    duplicate: bool
    result: dict[str, Any]


def record_event(
    session: Session, message: IncomingMessage, *, source: str, raw: dict[str, Any] | None = None
) -> tuple[int, bool]:
    """Write the raw event keyed by message id; (event id, True if it was new)."""
    payload = raw if raw is not None else message.model_dump(mode="json")
    event_id = session.execute(
        insert(InboundEvent)
        .values(dedupe_key=message.message_id, source=source, payload=payload)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(InboundEvent.id)
    ).scalar_one_or_none()
    if event_id is not None:
        return event_id, True
    existing = session.execute(
        select(InboundEvent.id).where(InboundEvent.dedupe_key == message.message_id)
    ).scalar_one()
    return existing, False


def store_message(session: Session, message: IncomingMessage, *, sla_hours: float) -> bool:
    """Upsert customer, order reference, thread and message; True if the message is new."""
    customer_pk, _ = get_or_create(
        session,
        Customer,
        "mirakl_customer_id",
        {"mirakl_customer_id": message.customer.id, "display_name": message.customer.name},
    )
    order_pk = None
    if message.order_id:
        order_pk, _ = get_or_create(
            session,
            Order,
            "mirakl_order_id",
            {"mirakl_order_id": message.order_id, "customer_id": customer_pk},
        )
    thread_pk, created = get_or_create(
        session,
        Thread,
        "mirakl_thread_id",
        {
            "mirakl_thread_id": message.thread_id,
            "order_id": order_pk,
            "customer_id": customer_pk,
            "topic": message.topic,
            "locale": message.locale,
            "marketplace": message.marketplace,
            "mirakl_created_at": message.created_at,
            "mirakl_updated_at": message.created_at,
        },
    )
    if not created:
        if order_pk is not None:
            link_order(session, thread_pk, order_pk)
        # Fill what an earlier source (e.g. the V1 import) did not know, never overwrite.
        thread = session.get(Thread, thread_pk)
        assert thread is not None
        for field in ("topic", "locale", "marketplace"):
            if getattr(thread, field) is None and getattr(message, field) is not None:
                setattr(thread, field, getattr(message, field))
        if thread.mirakl_updated_at is None or thread.mirakl_updated_at < message.created_at:
            thread.mirakl_updated_at = message.created_at
    new = session.execute(
        insert(Message)
        .values(
            mirakl_message_id=message.message_id,
            thread_id=thread_pk,
            direction="inbound",
            author_type="CUSTOMER",
            author_name=message.customer.name,
            body=message.body,
            created_at=message.created_at,
        )
        .on_conflict_do_nothing(index_elements=["mirakl_message_id"])
        .returning(Message.id)
    ).scalar_one_or_none()
    if new is not None:
        refresh_thread_summary(session, thread_pk, sla_hours)
    return new is not None


def ingest_message(
    session: Session,
    message: IncomingMessage,
    *,
    sla_hours: float,
    source: str = "webhook",
    raw: dict[str, Any] | None = None,
) -> IngestResult:
    """Record and store one customer message in the caller's transaction.

    Processing beyond storage (classification, replies) plugs in after this step; until then
    the outcome is `stored` and the thread stays open.
    """
    event_id, is_new = record_event(session, message, source=source, raw=raw)
    if not is_new:
        event = session.get(InboundEvent, event_id)
        assert event is not None
        result = event.result or {"status": "stored" if event.status == "processed" else "queued"}
        return IngestResult(event_id, message.thread_id, result["status"], True, result)
    store_message(session, message, sla_hours=sla_hours)
    result = {"status": "stored", "intent": None, "confidence": None, "reply": None}
    session.execute(
        update(InboundEvent)
        .where(InboundEvent.id == event_id)
        .values(status="processed", attempts=1, result=result, processed_at=datetime.now(UTC))
    )
    return IngestResult(event_id, message.thread_id, "stored", False, result)


def ingest_in_own_transaction(message: IncomingMessage, *, source: str) -> IngestResult:
    """Ingest one message in a transaction of its own (for callers without a session)."""
    from store.db import session_scope
    from store.settings import get_settings

    with session_scope() as session:
        return ingest_message(session, message, sla_hours=get_settings().sla_hours, source=source)
