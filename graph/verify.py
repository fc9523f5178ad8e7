"""What the agent may rely on for one message: read from Mirakl in this run, never assumed.

A webhook is a notification, not the truth. The message is checked against Mirakl's own copy of
its thread (M10): it must be there, written by the customer, and the thread's customer and order
must be the ones the webhook named. The order it is about is then read from Mirakl (OR11) and is
used only if it belongs to the thread's customer there. Nothing here guesses: whatever could not
be read or does not agree is said in words, and the graph then drafts for a human (or, for a
message Mirakl does not confirm, does nothing at all) instead of acting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy.orm import Session

from graph.policies import extract_order_ids
from store.business import record_mirakl_order
from store.db import wait_for_locks_at_most
from store.facts import OrderFacts, facts_from_mirakl
from store.ingest import IncomingMessage
from store.mirakl_models import InboxThread, Order
from tools.mirakl.blocking import BlockingMirakl
from tools.mirakl.errors import MiraklError, MiraklNotFound

# verified: Mirakl has this customer message as the webhook said; unverified: Mirakl does not
# have it, or disagrees (nothing is sent or changed); unavailable: Mirakl could not be asked
# (the message is kept and drafted for a human).
Verification = Literal["verified", "unverified", "unavailable"]


@dataclass(frozen=True)
class MessageCheck:
    verification: Verification
    problem: str | None = None  # why it is not verified, in words a reviewer understands
    text: str | None = None  # Mirakl's copy of the message
    customer_id: str | None = None  # the thread's customer on Mirakl
    customer_name: str | None = None  # as Mirakl shows it
    order_id: str | None = None  # the thread's order on Mirakl
    attachments: list[dict[str, Any]] = field(default_factory=list)  # as Mirakl lists them
    # Mirakl's reply clock as read now: since when the shop owes a reply (None: nothing owed)
    reply_needed_since: datetime | None = None
    read_at: datetime | None = None  # when the thread was read (None: it was not)
    written_at: datetime | None = None  # when Mirakl says the customer wrote it


def check_message(
    mirakl: BlockingMirakl,
    thread_id: str,
    message_id: str,
    claimed: IncomingMessage | None = None,
) -> MessageCheck:
    """Does Mirakl have this customer message, in this thread, as the webhook described it?"""
    read_at = datetime.now(UTC)
    try:
        thread: InboxThread = mirakl.call(lambda m: m.get_thread(thread_id))
    except MiraklNotFound:
        return MessageCheck("unverified", f"Mirakl has no thread {thread_id}")
    except Exception as exc:  # unreachable, refused, or an answer that could not be read
        return MessageCheck(
            "unavailable", f"Mirakl could not be asked to confirm the message ({_why(exc)})"
        )
    message = next((m for m in thread.messages if m.id == message_id), None)
    if message is None:
        return MessageCheck(
            "unverified", f"Mirakl's thread {thread_id} has no message {message_id}"
        )
    if message.author != "CUSTOMER":
        writer = (message.author or message.sender.type).lower()
        return MessageCheck(
            "unverified",
            f"on Mirakl, message {message_id} was written by the {writer}, not by the customer",
        )
    customer = thread.customer
    if customer is None or customer.id is None:
        return MessageCheck("unverified", f"Mirakl's thread {thread_id} has no customer")
    if claimed is not None and claimed.customer.id != customer.id:
        return MessageCheck(
            "unverified",
            f"the webhook names customer {claimed.customer.id}, but on Mirakl the thread's "
            f"customer is {customer.id}",
        )
    if claimed is not None and claimed.order_id and claimed.order_id != thread.order_id:
        return MessageCheck(
            "unverified",
            f"the webhook names order {claimed.order_id}, but on Mirakl the thread is about "
            + (f"order {thread.order_id}" if thread.order_id else "no order"),
        )
    return MessageCheck(
        "verified",
        text=message.body,
        customer_id=customer.id,
        customer_name=customer.display_name,
        order_id=thread.order_id,
        attachments=[a.model_dump(mode="json", exclude_none=True) for a in message.attachments],
        reply_needed_since=thread.reply_needed_since,
        read_at=read_at,
        written_at=message.date_created,
    )


def _why(exc: Exception) -> str:
    if isinstance(exc, MiraklError):
        return exc.message
    return f"unreadable answer: {type(exc).__name__}: {str(exc)[:200]}"


@dataclass(frozen=True)
class OrderReading:
    order: OrderFacts | None = None  # the one order in play: this customer's, read now
    problem: str | None = None  # why nothing may be automated about an order (None: fine)
    read: list[Order] = field(default_factory=list)  # every order read, to be recorded
    fetched_at: datetime | None = None


def read_orders(
    mirakl: BlockingMirakl,
    customer_id: str | None,
    thread_order_id: str | None,
    named: list[str],
) -> OrderReading:
    """The order this message is about, read from Mirakl now: the thread's order, or the one
    the text names, and only if Mirakl says it is this customer's. Two orders in play, an order
    that is someone else's or unknown, or Mirakl unreachable: `problem` says so."""
    ids = list(dict.fromkeys([*([thread_order_id] if thread_order_id else []), *named]))
    if not ids:
        return OrderReading()
    try:
        page = mirakl.call(lambda m: m.list_orders(order_ids=ids, max_results=100))
    except Exception as exc:  # unreachable, refused, or an answer that could not be read
        return OrderReading(
            problem=f"order {', '.join(ids)} could not be read from Mirakl ({_why(exc)})"
        )
    fetched_at = datetime.now(UTC)
    found = {o.order_id: o for o in page.orders if o.order_id in ids}
    owned: list[Order] = []
    refused: list[str] = []
    for order_id in ids:
        order = found.get(order_id)
        if order is None:
            refused.append(f"order {order_id} does not exist on Mirakl")
        elif (
            customer_id is None
            or order.customer is None
            or (order.customer.customer_id != customer_id)
        ):
            refused.append(f"order {order_id} is not this customer's on Mirakl")
        else:
            owned.append(order)
    read = list(found.values())
    if len(owned) > 1:
        names = " and ".join(o.order_id for o in owned)
        which = (
            f"the thread's order {thread_order_id} and the message names another"
            if thread_order_id in found and thread_order_id in (o.order_id for o in owned)
            else "the message names several"
        )
        return OrderReading(
            problem=f"two orders are in play ({which}: {names}); a person decides which",
            read=read,
            fetched_at=fetched_at,
        )
    return OrderReading(
        order=facts_from_mirakl(owned[0], fetched_at) if owned else None,
        problem="; ".join(refused) or None,
        read=read,
        fetched_at=fetched_at,
    )


def thread_orders(mirakl: BlockingMirakl, thread_id: str, text: str) -> OrderReading:
    """The order facts a draft of this thread may use, read from Mirakl now (its thread for the
    customer and order, then the orders)."""
    try:
        thread: InboxThread = mirakl.call(lambda m: m.get_thread(thread_id))
    except Exception as exc:  # unreachable, refused, or an answer that could not be read
        return OrderReading(
            problem=f"thread {thread_id} could not be read from Mirakl ({_why(exc)})"
        )
    customer = thread.customer
    return read_orders(
        mirakl, customer.id if customer else None, thread.order_id, extract_order_ids(text)
    )


def record_reading(
    session: Session,
    thread_id: str,
    reading: OrderReading,
    marketplace: str,
) -> None:
    """Keep what was read in the system of record (orders, lines, customers, shipments). Meant
    for a short transaction of its own: it never waits long for a row another run holds."""
    if reading.fetched_at is None:
        return
    wait_for_locks_at_most(session, 5)
    for order in reading.read:
        record_mirakl_order(session, order, reading.fetched_at, marketplace=marketplace)
