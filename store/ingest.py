"""How a new customer message enters the system of record (webhook, sync): the ingestion body,
the raw event keyed by Mirakl message id (recorded before anything else), and the upsert of
customer, order reference, thread and message. The queue and processing live in store/queue.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from store.models import Customer, InboundEvent, Message, Order, Thread
from store.settings import DEFAULT_MARKETPLACE
from store.text import StorableStr
from store.threads import refresh_thread_summary, scoped, thread_key
from store.upserts import get_or_create


def _iso_text(value: Any) -> Any:
    # 0 or 1732000000 would be read as seconds since 1970: a sender's bug, not a date.
    if isinstance(value, int | float):
        raise ValueError("a date must be ISO-8601 text with a time-zone offset, not a number")
    return value


IsoDatetime = Annotated[AwareDatetime, BeforeValidator(_iso_text)]

# Mirakl ids: letters, digits and - _ . : only, so they stay one path segment wherever they go.
MIRAKL_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"


# A customer id never goes into a URL; Mirakl does not say what it looks like (its own example
# is "Customer id"), so any printable text is accepted.
PRINTABLE = r"^[^\x00-\x1f\x7f]+$"


class CustomerRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(
        min_length=1, max_length=128, pattern=PRINTABLE, description="Mirakl customer id."
    )
    name: Annotated[StorableStr, Field(max_length=256)] | None = Field(
        default=None, description="Display name."
    )


class IncomingMessage(BaseModel):
    """A new customer message, as the webhook sender (n8n) posts it."""

    model_config = ConfigDict(extra="forbid")

    thread_id: str = Field(
        min_length=1, max_length=128, pattern=MIRAKL_ID, description="Mirakl thread id."
    )
    message_id: str = Field(
        min_length=1, max_length=128, pattern=MIRAKL_ID, description="Mirakl message id."
    )
    body: StorableStr = Field(min_length=1, max_length=20000)
    created_at: IsoDatetime = Field(
        description="ISO-8601 text with a time-zone offset (numbers are refused)."
    )
    order_id: Annotated[str, Field(min_length=1, max_length=64, pattern=MIRAKL_ID)] | None = Field(
        default=None, description="Mirakl order id."
    )
    customer: CustomerRef
    topic: Annotated[StorableStr, Field(max_length=1000)] | None = None
    locale: Annotated[StorableStr, Field(max_length=16)] | None = None
    marketplace: Annotated[StorableStr, Field(max_length=64)] | None = Field(
        default=None,
        description="The marketplace it was written on, by its configured name (e.g. fnac); "
        "none: the default one. With one marketplace configured, any value is only a label.",
    )


# The reconciliation cursors (`csagent sync`): one of each per marketplace.
INBOX_CURSOR = "mirakl_inbox"
ORDERS_CURSOR = "mirakl_orders"


def cursor_name(name: str, marketplace: str) -> str:
    """A marketplace's own cursor; the default marketplace's keep their names."""
    return name if marketplace == DEFAULT_MARKETPLACE else f"{name}@{marketplace}"


def record_event(
    session: Session,
    message: IncomingMessage,
    *,
    source: str,
    raw: dict[str, Any] | None = None,
    marketplace: str,
) -> tuple[int, bool]:
    """Write the raw event keyed by marketplace and message id; (event id, True if it was new)."""
    payload = raw if raw is not None else message.model_dump(mode="json")
    dedupe_key = scoped(marketplace, message.message_id)
    event_id = session.execute(
        insert(InboundEvent)
        .values(
            dedupe_key=dedupe_key,
            source=source,
            marketplace=marketplace,
            payload=payload,
            thread_key=thread_key(message.thread_id, marketplace),
            message_created_at=message.created_at,
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(InboundEvent.id)
    ).scalar_one_or_none()
    if event_id is not None:
        return event_id, True
    existing = session.execute(
        select(InboundEvent.id).where(InboundEvent.dedupe_key == dedupe_key)
    ).scalar_one()
    return existing, False


def store_message(
    session: Session,
    message: IncomingMessage,
    *,
    sla_hours: float,
    marketplace: str,
) -> tuple[int, bool]:
    """Upsert customer, order reference, thread and message; (thread id, message is new).

    An existing thread keeps what it knew: only what an earlier source (e.g. the V1 import) did
    not know is filled in, and its order link is never replaced."""
    # DO NOTHING, not a no-op update: an updated row would stay locked by this transaction
    # (held for the whole run), and customers and orders are shared between threads.
    customer_pk, _ = get_or_create(
        session,
        Customer,
        ("marketplace", "mirakl_customer_id"),
        {
            "marketplace": marketplace,
            "mirakl_customer_id": message.customer.id,
            "display_name": message.customer.name,
        },
    )
    order_pk = None
    if message.order_id:
        order_pk, _ = get_or_create(
            session,
            Order,
            ("marketplace", "mirakl_order_id"),
            {
                "marketplace": marketplace,
                "mirakl_order_id": message.order_id,
                "customer_id": customer_pk,
            },
        )
    thread_pk = upsert_thread(
        session,
        marketplace=marketplace,
        thread_id=message.thread_id,
        order_pk=order_pk,
        customer_pk=customer_pk,
        topic=message.topic,
        locale=message.locale,
        channel=message.marketplace,
        at=message.created_at,
    )
    inserted = session.execute(
        insert(Message)
        .values(
            mirakl_message_id=message.message_id,
            marketplace=marketplace,
            thread_id=thread_pk,
            direction="inbound",
            author_type="CUSTOMER",
            author_name=message.customer.name,
            body=message.body,
            created_at=message.created_at,
        )
        .on_conflict_do_nothing(index_elements=["marketplace", "mirakl_message_id"])
        .returning(Message.id)
    ).scalar_one_or_none()
    if inserted is not None:
        refresh_thread_summary(session, thread_pk, sla_hours)
    return thread_pk, inserted is not None


def upsert_thread(
    session: Session,
    *,
    marketplace: str,
    thread_id: str,
    order_pk: int | None,
    customer_pk: int | None,
    topic: str | None,
    locale: str | None,
    channel: str | None,
    at: datetime,
) -> int:
    """The thread's row, created or completed: an existing thread keeps what it knew (only what
    an earlier source did not know is filled in; its order link is never replaced)."""
    values = {
        "marketplace": marketplace,
        "mirakl_thread_id": thread_id,
        "order_id": order_pk,
        "customer_id": customer_pk,
        "topic": topic,
        "locale": locale,
        "channel": channel,
        "mirakl_created_at": at,
        "mirakl_updated_at": at,
    }
    statement = insert(Thread).values(**values)
    new = statement.excluded
    thread_pk: int = session.execute(
        statement.on_conflict_do_update(
            index_elements=["marketplace", "mirakl_thread_id"],
            set_={
                **{c: func.coalesce(getattr(Thread, c), getattr(new, c))
                   for c in ("order_id", "customer_id", "topic", "locale", "channel")},
                "mirakl_updated_at": func.greatest(Thread.mirakl_updated_at, new.mirakl_updated_at),
            },
        ).returning(Thread.id)
    ).scalar_one()  # fmt: skip
    return thread_pk


def store_party_message(
    session: Session,
    *,
    thread_id: str,
    message_id: str,
    author_type: str,
    body: str,
    created_at: datetime,
    author_name: str | None,
    topic: str | None,
    sla_hours: float,
    marketplace: str,
) -> bool:
    """Store a message the shop (SHOP: written in Mirakl's back office, outbound and sent) or
    the marketplace's operator (OPERATOR: inbound) wrote, read from Mirakl: history, never
    processed by the agent, and an operator's words are never read as the customer's. True if
    it was new."""
    shop = author_type == "SHOP"
    thread_pk = upsert_thread(
        session, marketplace=marketplace, thread_id=thread_id, order_pk=None, customer_pk=None,
        topic=topic, locale=None, channel=None, at=created_at,
    )  # fmt: skip
    inserted = session.execute(
        insert(Message)
        .values(
            mirakl_message_id=message_id,
            marketplace=marketplace,
            thread_id=thread_pk,
            direction="outbound" if shop else "inbound",
            author_type="SHOP" if shop else "OPERATOR",
            author_name=author_name,
            body=body,
            created_at=created_at,
            delivery_status="sent" if shop else None,
        )
        .on_conflict_do_nothing(index_elements=["marketplace", "mirakl_message_id"])
        .returning(Message.id)
    ).scalar_one_or_none()
    if inserted is not None:
        refresh_thread_summary(session, thread_pk, sla_hours)
    return inserted is not None
