"""Reconciliation: webhooks get lost, so `csagent sync` reads the Mirakl inbox and feeds every
customer message csagent has not seen through the ingestion path (duplicates are harmless); and
it reads the orders Mirakl changed (OR11 by `start_update_date`), plus those csagent knows only by
reference (e.g. from the V1 import), so the inbox shows each order as Mirakl has it.

Each cursor (newest update read) advances only after its whole pass succeeded. The agent never
decides on these copies: it reads the order again in the run that decides (graph/verify.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError
from sqlalchemy.orm import Session

from store.business import record_mirakl_order
from store.ingest import (
    INBOX_CURSOR,
    ORDERS_CURSOR,
    IncomingMessage,
    cursor_name,
    store_message,
    store_party_message,
)
from store.settings import Settings
from store.sync_state import (
    failed_message_ids,
    known_message_ids,
    read_cursor,
    referenced_order_ids,
    write_cursor,
)
from store.threads import record_reply_clock
from tools.mirakl.client import MiraklClient
from tools.mirakl.errors import MiraklConfigError, MiraklError
from tools.mirakl.events import incoming_from_mirakl
from tools.mirakl.models import InboxThread

log = logging.getLogger(__name__)

ORDER_BATCH = 100  # ids per OR11 call (Mirakl's page limit)

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
    operator_messages: int = 0  # the marketplace's operator wrote: stored, never processed
    history: int = 0  # already answered customer messages and the shop's own: stored only
    rejected: int = 0  # messages csagent cannot take (logged): not stored
    threads_read_whole: int = 0  # more messages than M11 lists: read with M10


async def sync_inbox(
    client: MiraklClient,
    session_factory: SessionFactory,
    ingest: Ingest,
    *,
    since: datetime | None = None,
    page_size: int = 100,
    marketplace: str,
    label: str | None = None,
    overlap: timedelta = timedelta(0),
    sla_hours: float = 24.0,
) -> SyncReport:
    """One pass over one marketplace's inbox (M11 `updated_since`, with messages, every page);
    `since` overrides the stored cursor, which is re-read `overlap` earlier (Mirakl's clock and
    a thread changed while we paged). `label` is what the messages name as their marketplace
    (its configured name).

    A customer message csagent has not stored and that still awaits the shop's reply (at or
    after Mirakl's `shop_reply_needed_since`) goes to `ingest`, the webhook's path (duplicates
    are harmless). Everything else is stored as history, never processed: customer messages the
    shop already answered (in Mirakl's back office, or before csagent), the shop's own messages,
    and the operator's. A message csagent cannot take (e.g. longer than it stores) is counted as
    rejected and logged; the pass goes on. A thread with more messages than M11 lists is read
    whole with M10. Each thread's reply clock is kept. The cursor (the largest `date_updated`
    listed, never later than the pass's start) moves only after the whole pass succeeded."""
    cursor = cursor_name(INBOX_CURSOR, marketplace)
    started = datetime.now(UTC)
    with session_factory() as session:
        stored = read_cursor(session, cursor)
    start = since or (stored - overlap if stored is not None else None)
    report = SyncReport(cursor_before=start, cursor_after=stored)
    newest = stored
    async for listed in client.iter_threads(
        updated_since=start, with_messages=True, limit=page_size
    ):
        report.threads_seen += 1
        thread = listed
        if not listed.messages_complete:  # M11 lists only the last 100 messages
            thread = await client.get_thread(listed.id)
            report.threads_read_whole += 1
        await _take_thread(thread, session_factory, ingest, report, marketplace, label, sla_hours)
        with session_factory() as session:
            record_reply_clock(
                session, thread.id, awaiting_since(thread), sla_hours=sla_hours,
                marketplace=marketplace, read_at=started,
            )  # fmt: skip
        updated = listed.date_updated or listed.date_created
        if newest is None or updated > newest:
            newest = updated
    # Never past the pass's start: a thread changed while we paged is read again next time. An
    # empty inbox still records the pass (its lag); the position then is a little before it.
    position = min(newest, started) if newest else started - max(overlap, timedelta(minutes=5))
    with session_factory() as session:
        write_cursor(session, position, cursor, checked_at=started)
    report.cursor_after = position
    return report


def awaiting_since(thread: InboxThread) -> datetime | None:
    """Since when the shop owes a reply on this thread: Mirakl's `shop_reply_needed_since`; if
    Mirakl did not send it, the first customer message after the shop's last one."""
    if (
        thread.metadata is not None
        and "shop_reply_needed_since" in thread.metadata.model_fields_set
    ):
        return thread.metadata.shop_reply_needed_since
    since = None
    for message in sorted(thread.messages, key=lambda m: m.date_created):
        if message.author == "SHOP":
            since = None
        elif message.author == "CUSTOMER" and since is None:
            since = message.date_created
    return since


async def _take_thread(
    thread: InboxThread,
    session_factory: SessionFactory,
    ingest: Ingest,
    report: SyncReport,
    marketplace: str,
    label: str | None,
    sla_hours: float,
) -> None:
    owed_since = awaiting_since(thread)
    messages = sorted(thread.messages, key=lambda m: m.date_created)
    ids = [m.id for m in messages]
    with session_factory() as session:
        known = known_message_ids(session, ids, marketplace)
        failed = failed_message_ids(session, ids, marketplace)
    for message in messages:
        if message.author == "CUSTOMER":
            report.customer_messages += 1
        if message.id in failed:
            report.failed += 1
            continue
        if message.id in known:
            report.already_known += message.author == "CUSTOMER"
            continue
        try:
            if message.author == "CUSTOMER":
                incoming = incoming_from_mirakl(thread, message, marketplace=label)
                if owed_since is not None and message.date_created >= owed_since:
                    status = await asyncio.to_thread(ingest, incoming)
                    if status == "failed":  # stored, but its processing failed: not done
                        report.failed += 1
                    else:
                        report.ingested += 1
                    continue
                with session_factory() as session:  # answered already: history only
                    store_message(session, incoming, sla_hours=sla_hours, marketplace=marketplace)
                report.history += 1
            elif message.author in ("SHOP", "OPERATOR"):
                with session_factory() as session:
                    new = store_party_message(
                        session, thread_id=thread.id, message_id=message.id,
                        author_type=message.author, body=message.body or "-",
                        created_at=message.date_created, author_name=message.sender.display_name,
                        topic=thread.topic.value if thread.topic else None,
                        sla_hours=sla_hours, marketplace=marketplace,
                    )  # fmt: skip
                report.operator_messages += new and message.author == "OPERATOR"
                report.history += new and message.author == "SHOP"
        except ValidationError as exc:
            report.rejected += 1
            log.warning(
                "Mirakl thread %s, message %s not taken: %s", thread.id, message.id,
                "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()),
            )  # fmt: skip


@dataclass
class OrderSyncReport:
    cursor_before: datetime | None
    cursor_after: datetime | None
    orders_read: int = 0  # changed on Mirakl since the cursor
    details_filled: int = 0  # known only by reference before, read now
    not_on_mirakl: int = 0  # referenced, but Mirakl does not have them


async def sync_orders(
    client: MiraklClient,
    session_factory: SessionFactory,
    *,
    since: datetime | None = None,
    page_size: int = 100,
    marketplace: str,
) -> OrderSyncReport:
    """One pass over one marketplace's orders: those Mirakl changed since the cursor (`since`
    overrides it), then those known only by reference."""
    cursor = cursor_name(ORDERS_CURSOR, marketplace)
    with session_factory() as session:
        stored = read_cursor(session, cursor)
    start = since or stored
    report = OrderSyncReport(cursor_before=start, cursor_after=start)
    newest = start
    async for order in client.iter_orders(start_update_date=start, page_size=page_size):
        with session_factory() as session:
            record_mirakl_order(session, order, datetime.now(UTC), marketplace=marketplace)
        report.orders_read += 1
        updated = order.last_updated_date or order.created_date
        if newest is None or updated > newest:
            newest = updated
    with session_factory() as session:
        missing = referenced_order_ids(session, marketplace)
    for i in range(0, len(missing), ORDER_BATCH):
        batch = missing[i : i + ORDER_BATCH]
        page = await client.list_orders(order_ids=batch, max_results=ORDER_BATCH)
        found = [o for o in page.orders if o.order_id in batch]
        with session_factory() as session:
            for order in found:
                record_mirakl_order(session, order, datetime.now(UTC), marketplace=marketplace)
        report.details_filled += len(found)
        report.not_on_mirakl += len(batch) - len(found)
    if newest is not None and newest != stored:
        with session_factory() as session:
            write_cursor(session, newest, cursor)
    report.cursor_after = newest
    return report


@dataclass
class MarketplaceSync:
    """One marketplace's pass: its reports, or why it failed (the others still ran)."""

    marketplace: str  # its configured name
    inbox: SyncReport | None = None
    orders: OrderSyncReport | None = None
    error: str | None = None
    misconfigured: bool = False  # its key or shop id is wrong: retrying cannot help


async def sync_marketplaces(
    settings: Settings,
    session_factory: SessionFactory,
    ingest: Ingest,
    *,
    since: datetime | None = None,
    client_for: Callable[..., MiraklClient] | None = None,
) -> list[MarketplaceSync]:
    """A pass over every marketplace, each with its own cursors; one that is down (or
    misconfigured) is reported and does not stop the others, and its cursors do not move."""
    results = []
    for connection in settings.connections():
        stored = settings.stored_name(connection.name)
        result = MarketplaceSync(connection.name)
        label = connection.name if settings.multi_marketplace else None
        try:
            make = client_for or MiraklClient.for_marketplace
            async with make(connection, settings) as client:
                result.inbox = await sync_inbox(
                    client, session_factory, ingest, since=since, marketplace=stored,
                    label=label, sla_hours=settings.for_marketplace(stored).sla_hours,
                    overlap=timedelta(seconds=settings.mirakl_poll_overlap_s),
                )  # fmt: skip
                result.orders = await sync_orders(
                    client, session_factory, since=since, marketplace=stored
                )
        except MiraklConfigError as exc:
            result.error, result.misconfigured = exc.message, True
        except MiraklError as exc:
            result.error = exc.message
        results.append(result)
    return results
