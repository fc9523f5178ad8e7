"""The system of record: SQLAlchemy 2 models of customers, orders, threads, messages and audit."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Stable constraint names, so Alembic migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# needs_attention: processing one of its messages failed (see attention); the message is stored.
THREAD_STATUSES = (
    "open", "awaiting_approval", "needs_attention", "answered", "escalated", "closed",
)  # fmt: skip
MESSAGE_DIRECTIONS = ("inbound", "outbound")
AUTHOR_TYPES = ("CUSTOMER", "SHOP", "OPERATOR")
DELIVERY_STATUSES = ("pending", "sent", "failed")
EVENT_STATUSES = ("received", "processing", "processed", "failed")
SHIPMENT_STATUSES = (
    "pending",
    "preparing",
    "shipped",
    "in_transit",
    "delivered",
    "returned",
    "lost",
)
ACTOR_TYPES = ("human", "automation", "system")
AUDIT_OUTCOMES = ("started", "succeeded", "failed", "skipped")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


TZ = DateTime(timezone=True)
MONEY = Numeric(12, 2)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: TZ, dict[str, Any]: JSONB, Decimal: MONEY}


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # The marketplace (Mirakl instance) it belongs to; `default` for the default one.
    marketplace: Mapped[str] = mapped_column(String(32), server_default="default")
    mirakl_customer_id: Mapped[str] = mapped_column(String(128))
    display_name: Mapped[str | None] = mapped_column(String(256))
    firstname: Mapped[str | None] = mapped_column(String(128))
    lastname: Mapped[str | None] = mapped_column(String(128))
    locale: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    __table_args__ = (
        UniqueConstraint(
            "marketplace", "mirakl_customer_id", name="uq_customers_marketplace_mirakl_customer_id"
        ),
    )


class Order(Base):
    """A Mirakl order. Rows known only by reference (e.g. from the V1 import) have no state yet."""

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # The marketplace (Mirakl instance) it belongs to; `default` for the default one.
    marketplace: Mapped[str] = mapped_column(String(32), server_default="default")
    mirakl_order_id: Mapped[str] = mapped_column(String(64))
    commercial_id: Mapped[str | None] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    channel: Mapped[str | None] = mapped_column(String(64))  # the marketplace's sales channel
    state: Mapped[str | None] = mapped_column(String(32))
    can_cancel: Mapped[bool | None]
    currency: Mapped[str | None] = mapped_column(String(3))
    total_price: Mapped[Decimal | None]
    shipping_price: Mapped[Decimal | None]
    shipping_address: Mapped[dict[str, Any] | None]
    created_date: Mapped[datetime | None]
    last_updated_date: Mapped[datetime | None]
    shipping_deadline: Mapped[datetime | None]
    customer_debited_date: Mapped[datetime | None]
    # Where these facts came from: 'mirakl' (read from its API at fetched_at), 'seed' (the
    # internal API's demo data) or 'reference' (an id named by a message, not read yet).
    source: Mapped[str] = mapped_column(String(16), server_default="reference")
    fetched_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan"
    )
    customer: Mapped[Customer | None] = relationship()

    __table_args__ = (
        Index("ix_orders_state", "state"),
        UniqueConstraint(
            "marketplace", "mirakl_order_id", name="uq_orders_marketplace_mirakl_order_id"
        ),
    )


class OrderLine(Base):
    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    mirakl_order_line_id: Mapped[str] = mapped_column(String(80))
    offer_sku: Mapped[str] = mapped_column(String(128))
    product_title: Mapped[str | None] = mapped_column(String(512))
    quantity: Mapped[int] = mapped_column(Integer)
    price: Mapped[Decimal]
    total_price: Mapped[Decimal | None]
    state: Mapped[str | None] = mapped_column(String(32))

    order: Mapped[Order] = relationship(back_populates="lines")

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        UniqueConstraint(
            "order_id",
            "mirakl_order_line_id",
            name="uq_order_lines_order_id_mirakl_order_line_id",
        ),
    )


class Shipment(Base):
    __tablename__ = "shipments"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), unique=True)
    carrier_code: Mapped[str | None] = mapped_column(String(64))
    carrier_name: Mapped[str | None] = mapped_column(String(128))
    tracking_number: Mapped[str | None] = mapped_column(String(128))
    tracking_url: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32), server_default="pending")
    address: Mapped[dict[str, Any] | None]
    events: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    shipped_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    __table_args__ = (
        CheckConstraint(
            _in("status", SHIPMENT_STATUSES),
            name="status_known",
        ),
    )


class Thread(Base):
    """A Mirakl inbox thread between a customer (or operator) and the shop."""

    __tablename__ = "threads"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # The marketplace (Mirakl instance) it belongs to; `default` for the default one.
    marketplace: Mapped[str] = mapped_column(String(32), server_default="default")
    mirakl_thread_id: Mapped[str] = mapped_column(String(128))
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="SET NULL"), index=True
    )
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    topic: Mapped[str | None] = mapped_column(Text)
    topic_type: Mapped[str | None] = mapped_column(String(32))
    channel: Mapped[str | None] = mapped_column(String(64))  # as the webhook or Mirakl named it
    locale: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(32), server_default="open")
    intent: Mapped[str | None] = mapped_column(String(32))
    confidence: Mapped[float | None] = mapped_column(Float)
    attention: Mapped[str | None] = mapped_column(Text)  # why it needs a human, when it does
    # The agent working on it (their display name); None: anyone's.
    assignee: Mapped[str | None] = mapped_column(String(128), index=True)
    # The agents' tags ("damaged", "vip"): lowercase words, to find and group work.
    tags: Mapped[list[str]] = mapped_column(
        ARRAY(String(40)), server_default=text("'{}'::varchar[]"), default=list
    )
    # When an agent last opened it: a customer message after that is unread.
    read_by_agents_at: Mapped[datetime | None]
    # Put aside by an agent until then (and since when): it comes back at that time, or as soon
    # as the customer writes again.
    snoozed_until: Mapped[datetime | None]
    snoozed_at: Mapped[datetime | None]
    sla_due_at: Mapped[datetime | None]
    # Mirakl's reply clock (`metadata.shop_reply_needed_since`) as last read, and when it was
    # read; never read: the deadline is estimated from the stored messages.
    reply_needed_since: Mapped[datetime | None]
    reply_clock_read_at: Mapped[datetime | None]
    last_message_at: Mapped[datetime | None]
    mirakl_created_at: Mapped[datetime | None]
    mirakl_updated_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    messages: Mapped[list[Message]] = relationship(
        back_populates="thread", order_by="Message.created_at"
    )
    order: Mapped[Order | None] = relationship()
    customer: Mapped[Customer | None] = relationship()

    __table_args__ = (
        CheckConstraint(_in("status", THREAD_STATUSES), name="status_known"),
        CheckConstraint(
            "confidence IS NULL OR confidence BETWEEN 0 AND 1", name="confidence_range"
        ),
        Index("ix_threads_status_sla", "status", "sla_due_at"),
        Index("ix_threads_tags", "tags", postgresql_using="gin"),
        UniqueConstraint(
            "marketplace", "mirakl_thread_id", name="uq_threads_marketplace_mirakl_thread_id"
        ),
    )


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # The marketplace (Mirakl instance) it belongs to; `default` for the default one.
    marketplace: Mapped[str] = mapped_column(String(32), server_default="default")
    mirakl_message_id: Mapped[str] = mapped_column(String(128))
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(8))
    author_type: Mapped[str] = mapped_column(String(16))
    author_name: Mapped[str | None] = mapped_column(String(256))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    delivery_status: Mapped[str | None] = mapped_column(String(16))
    # Customer messages: 'verified' against Mirakl's copy, 'unverified' (kept and shown, never
    # read into a conversation), NULL when not checked (imported, or before processing).
    verification: Mapped[str | None] = mapped_column(String(16))
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    stored_at: Mapped[datetime] = mapped_column(server_default=func.now())

    thread: Mapped[Thread] = relationship(back_populates="messages")

    __table_args__ = (
        CheckConstraint(_in("direction", MESSAGE_DIRECTIONS), name="direction_known"),
        CheckConstraint(_in("author_type", AUTHOR_TYPES), name="author_type_known"),
        CheckConstraint(
            "(direction = 'inbound' AND delivery_status IS NULL) OR "
            f"(direction = 'outbound' AND {_in('delivery_status', DELIVERY_STATUSES)})",
            name="delivery_status_outbound_only",
        ),
        Index("ix_messages_thread_created", "thread_id", "created_at"),
        UniqueConstraint(
            "marketplace", "mirakl_message_id", name="uq_messages_marketplace_mirakl_message_id"
        ),
    )


class InboundEvent(Base):
    """Every webhook delivery, stored raw before anything else happens to it."""

    __tablename__ = "inbound_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    source: Mapped[str] = mapped_column(String(32), server_default="webhook")
    # The marketplace (Mirakl instance) it belongs to; `default` for the default one.
    marketplace: Mapped[str] = mapped_column(String(32), server_default="default")
    payload: Mapped[dict[str, Any]]
    # Queue order: messages of one thread are processed one at a time, oldest first.
    thread_key: Mapped[str | None] = mapped_column(String(200))  # [<marketplace>/]<thread id>
    message_created_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), server_default="received")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None]
    received_at: Mapped[datetime] = mapped_column(server_default=func.now())
    processed_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint(_in("status", EVENT_STATUSES), name="status_known"),
        Index("ix_inbound_events_status_received", "status", "received_at"),
        Index("ix_inbound_events_queue", "status", "thread_key", "message_created_at"),
    )


class User(Base):
    """A support agent who signs in to the dashboard; their name goes into the audit log."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(128))
    password_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_login_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint("username ~ '^[a-z0-9][a-z0-9._-]{1,63}$'", name="username_format"),
    )


class ProcessingAttempt(Base):
    """One start of an event's processing, committed before the work begins: a crash that takes
    the processing transaction with it still leaves the attempt counted. No foreign key: the
    event row is held FOR UPDATE by the processing transaction while this row is written."""

    __tablename__ = "processing_attempts"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    event_id: Mapped[int] = mapped_column(BigInteger, index=True)
    started_at: Mapped[datetime] = mapped_column(server_default=func.now())
    pid: Mapped[int | None] = mapped_column(Integer)


class AuditEntry(Base):
    """One row per world-changing action attempt; outcome is updated after it happens."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(server_default=func.now())
    # The marketplace (Mirakl instance) it belongs to; `default` for the default one.
    marketplace: Mapped[str] = mapped_column(String(32), server_default="default")

    actor_type: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str | None] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    thread_id: Mapped[int | None] = mapped_column(
        ForeignKey("threads.id", ondelete="SET NULL"), index=True
    )
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    outcome: Mapped[str] = mapped_column(String(16), server_default="started")
    detail: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint(_in("actor_type", ACTOR_TYPES), name="actor_type_known"),
        CheckConstraint(_in("outcome", AUDIT_OUTCOMES), name="outcome_known"),
        # A thread's rows (its trail, its latest close) are looked up on every inbox read.
        Index("ix_audit_log_thread", "marketplace", text("(payload ->> 'thread')"), "action"),
    )


CONFIRMATION_ACTIONS = ("cancel_order", "cancel_lines", "update_address")
# pending: asked, waiting for the customer; confirmed: a yes, carried out; declined: a no;
# unclear: an answer a person must read; expired: no yes in time; superseded: a newer question.
CONFIRMATION_STATUSES = ("pending", "confirmed", "declined", "unclear", "expired", "superseded")


class Confirmation(Base):
    """What csagent asked a customer to confirm before doing what cannot be undone (cancel an
    order, redirect a parcel), and what became of it. State, not memory: it survives restarts,
    and the thread and the inbox show it."""

    __tablename__ = "confirmations"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"), index=True)
    order_id: Mapped[str] = mapped_column(String(128))  # Mirakl's order id
    action: Mapped[str] = mapped_column(String(32))
    # What exactly was proposed: lines, amount and currency; the new address.
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    language: Mapped[str] = mapped_column(String(8), server_default="en")
    requested_by: Mapped[str] = mapped_column(String(128))  # the customer's message that asked
    # When the customer asked: the cancellation window is measured at the request.
    requested_at: Mapped[datetime] = mapped_column(TZ)
    asked_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(TZ)
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    answered_by: Mapped[str | None] = mapped_column(String(128))  # the customer's answer
    answered_at: Mapped[datetime | None] = mapped_column(TZ)
    outcome: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint(_in("action", CONFIRMATION_ACTIONS), name="action_known"),
        CheckConstraint(_in("status", CONFIRMATION_STATUSES), name="status_known"),
        UniqueConstraint("thread_id", "requested_by", name="uq_confirmations_thread_request"),
    )


class InventoryItem(Base):
    __tablename__ = "inventory"

    sku: Mapped[str] = mapped_column(String(128), primary_key=True)
    title: Mapped[str | None] = mapped_column(String(512))
    available: Mapped[int] = mapped_column(Integer)
    reserved: Mapped[int] = mapped_column(Integer, server_default="0")
    unit_cost: Mapped[Decimal | None]
    restock_date: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    __table_args__ = (
        CheckConstraint("available >= 0", name="available_non_negative"),
        CheckConstraint("reserved >= 0", name="reserved_non_negative"),
    )


class OrderCost(Base):
    """What an order cost the seller, for margin and refund decisions."""

    __tablename__ = "order_costs"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), unique=True)
    currency: Mapped[str] = mapped_column(String(3))
    item_cost: Mapped[Decimal]
    shipping_cost: Mapped[Decimal]
    marketplace_fee: Mapped[Decimal]
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    __table_args__ = (
        CheckConstraint(
            "item_cost >= 0 AND shipping_cost >= 0 AND marketplace_fee >= 0",
            name="costs_non_negative",
        ),
    )


class SyncCursor(Base):
    """How far a reconciliation job has read a remote source (e.g. Mirakl threads updated since)."""

    __tablename__ = "sync_cursors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[datetime]
    # When the last complete pass started: Mirakl's changes before it have all been read.
    checked_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class KnowledgeCollection(Base):
    """Which embeddings a knowledge-base table was built with; mixing kinds is refused."""

    __tablename__ = "kb_collections"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    table_name: Mapped[str] = mapped_column(String(64), unique=True)
    embeddings_kind: Mapped[str] = mapped_column(String(16))
    embeddings_model: Mapped[str] = mapped_column(String(128))
    dimension: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    ingested_at: Mapped[datetime | None]


class ReplyDraft(Base):
    """A reply an agent is writing on a thread, kept until it is sent or cleared."""

    __tablename__ = "reply_drafts"

    thread_id: Mapped[int] = mapped_column(
        ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True
    )
    agent: Mapped[str] = mapped_column(String(128), primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column()


class ThreadPresence(Base):
    """An agent on a thread now (viewing it, or writing a reply), as their dashboard last said."""

    __tablename__ = "thread_presence"

    thread_id: Mapped[int] = mapped_column(
        ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True
    )
    agent: Mapped[str] = mapped_column(String(128), primary_key=True)
    activity: Mapped[str] = mapped_column(String(16))  # viewing | replying
    seen_at: Mapped[datetime] = mapped_column()


class ThreadNote(Base):
    """An agent's note on a thread, for the other agents: never sent to Mirakl, never in a
    draft."""

    __tablename__ = "thread_notes"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(128))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
