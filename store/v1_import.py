"""One-time migration of the V1 poller's `messages.json` into PostgreSQL, idempotent and lossless.

Each thread record is imported in its own savepoint: a malformed or conflicting record is
rejected with its index and reason, and everything else still goes in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from store.mirakl_models import InboxThread
from store.models import Customer, Message, Order, Thread
from store.threads import link_order, refresh_thread_summary
from store.upserts import get_or_create


class V1FileError(ValueError):
    """The file as a whole cannot be read as a V1 export (nothing was imported)."""


class RecordRejected(ValueError):
    """One thread record cannot be imported; the reason is user-facing."""


@dataclass(frozen=True)
class Reject:
    index: int
    thread_id: str | None
    reason: str
    record: Any


@dataclass
class ImportCounts:
    threads_added: int = 0
    threads_present: int = 0
    messages_added: int = 0
    messages_present: int = 0
    customers_added: int = 0
    orders_linked: int = 0

    def add(self, other: ImportCounts) -> None:
        for f in fields(ImportCounts):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass
class ImportReport(ImportCounts):
    records: int = 0
    rejects: list[Reject] = field(default_factory=list)
    dry_run: bool = False

    @property
    def rejected(self) -> int:
        return len(self.rejects)


def load_v1_records(path: Path) -> list[Any]:
    """The thread records of a V1 file: a JSON array, or an object with a `threads` array."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise V1FileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise V1FileError(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}") from exc
    if isinstance(data, dict) and isinstance(data.get("threads"), list):
        return data["threads"]
    if isinstance(data, list):
        return data
    raise V1FileError(
        f'{path}: expected a JSON array of threads or an object with a "threads" array'
    )


def describe_validation_error(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        location = ".".join(str(p) for p in error["loc"]) or "record"
        parts.append(f"{location}: {error['msg']}")
    more = len(exc.errors()) - 5
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def parse_record(record: Any) -> InboxThread:
    if not isinstance(record, dict):
        raise RecordRejected(f"expected a thread object, got {type(record).__name__}")
    try:
        thread = InboxThread.model_validate(record)
    except ValidationError as exc:
        raise RecordRejected(describe_validation_error(exc)) from None
    seen: set[str] = set()
    for message in thread.messages:
        if message.id in seen:
            raise RecordRejected(f"message id {message.id!r} appears twice in this thread")
        seen.add(message.id)
    return thread


def _import_thread(
    session: Session, thread: InboxThread, sla_hours: float, marketplace: str
) -> ImportCounts:
    report = ImportCounts()
    customer_pk = None
    if (customer := thread.customer) is not None:
        customer_pk, created = get_or_create(
            session,
            Customer,
            ("marketplace", "mirakl_customer_id"),
            {
                "marketplace": marketplace,
                "mirakl_customer_id": customer.id,
                "display_name": customer.display_name,
            },
        )
        report.customers_added += created

    order_pk = None
    if (order_ref := thread.order_id) is not None:
        order_pk, _ = get_or_create(
            session,
            Order,
            ("marketplace", "mirakl_order_id"),
            {"marketplace": marketplace, "mirakl_order_id": order_ref, "customer_id": customer_pk},
        )

    thread_pk, thread_created = _get_or_create_thread(
        session, thread, marketplace, order_pk=order_pk, customer_pk=customer_pk
    )
    if thread_created:
        report.threads_added += 1
        report.orders_linked += order_pk is not None
    else:
        report.threads_present += 1
        if order_pk is not None:
            report.orders_linked += link_order(session, thread_pk, order_pk)

    new_ids = _insert_messages(session, thread, thread_pk, marketplace)
    report.messages_added += len(new_ids)
    report.messages_present += len(thread.messages) - len(new_ids)

    if thread_created or new_ids:
        refresh_thread_summary(session, thread_pk, sla_hours)
    return report


def _get_or_create_thread(
    session: Session,
    thread: InboxThread,
    marketplace: str,
    *,
    order_pk: int | None,
    customer_pk: int | None,
) -> tuple[int, bool]:
    return get_or_create(
        session,
        Thread,
        ("marketplace", "mirakl_thread_id"),
        {
            "marketplace": marketplace,
            "mirakl_thread_id": thread.id,
            "order_id": order_pk,
            "customer_id": customer_pk,
            "topic": thread.topic.value if thread.topic else None,
            "topic_type": thread.topic.type if thread.topic else None,
            "mirakl_created_at": thread.date_created,
            "mirakl_updated_at": thread.date_updated or thread.date_created,
        },
    )


def _insert_messages(
    session: Session, thread: InboxThread, thread_pk: int, marketplace: str
) -> set[str]:
    """The thread's messages not yet stored go in; the ids of those that did. A message already
    stored under another thread rejects the record."""
    if not thread.messages:
        return set()
    rows = [
        {
            "mirakl_message_id": m.id,
            "marketplace": marketplace,
            "thread_id": thread_pk,
            "direction": "outbound" if m.author == "SHOP" else "inbound",
            "author_type": m.author or "OPERATOR",
            "author_name": m.sender.display_name,
            "body": m.body,
            "created_at": m.date_created,
            # V1 only saw messages already in Mirakl, so the shop's own were delivered.
            "delivery_status": "sent" if m.author == "SHOP" else None,
            "attachments": [a.model_dump(mode="json", exclude_none=True) for a in m.attachments],
        }
        for m in thread.messages
    ]
    new_ids = set(
        session.execute(
            insert(Message)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["marketplace", "mirakl_message_id"])
            .returning(Message.mirakl_message_id)
        ).scalars()
    )
    known = [m.id for m in thread.messages if m.id not in new_ids]
    if known:
        _reject_messages_of_another_thread(session, known, thread_pk, marketplace)
    return new_ids


def _reject_messages_of_another_thread(
    session: Session, message_ids: list[str], thread_pk: int, marketplace: str
) -> None:
    """A message already stored under another thread refuses the record (it is not moved)."""
    foreign = session.execute(
        select(Message.mirakl_message_id, Thread.mirakl_thread_id)
        .join(Thread, Message.thread_id == Thread.id)
        .where(
            Message.marketplace == marketplace,
            Message.mirakl_message_id.in_(message_ids),
            Message.thread_id != thread_pk,
        )
        .limit(1)
    ).first()
    if foreign is not None:
        raise RecordRejected(f"message id {foreign[0]!r} already belongs to thread {foreign[1]!r}")


def import_v1(
    session: Session,
    records: list[Any],
    *,
    sla_hours: float,
    dry_run: bool = False,
    marketplace: str,
) -> ImportReport:
    """Import thread records (all from one marketplace) into the session's transaction; the
    caller commits (or not)."""
    report = ImportReport(records=len(records), dry_run=dry_run)
    for index, record in enumerate(records):
        thread_id = record.get("id") if isinstance(record, dict) else None
        try:
            thread = parse_record(record)
            with session.begin_nested():
                counts = _import_thread(session, thread, sla_hours, marketplace)
        except RecordRejected as exc:
            label = thread_id if isinstance(thread_id, str) else None
            report.rejects.append(Reject(index, label, str(exc), record))
        else:
            report.add(counts)
    return report


def rejects_path(source: Path) -> Path:
    return source.with_name(f"{source.stem}.rejects.json")


def write_rejects(source: Path, rejects: list[Reject]) -> Path | None:
    """Write rejected records beside the input (removing a stale file when there are none)."""
    target = rejects_path(source)
    if not rejects:
        target.unlink(missing_ok=True)
        return None
    payload = [
        {"index": r.index, "thread_id": r.thread_id, "reason": r.reason, "record": r.record}
        for r in rejects
    ]
    target.write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
    return target
